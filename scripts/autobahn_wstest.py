# Runs Autobahn|Testsuite's `wstest` (Python 2.7) with every listening socket bound to 127.0.0.1.
#
# wstest binds all interfaces and has no option to change that, so this wraps twisted's
# reactor.listenTCP / listenSSL to pass interface="127.0.0.1", then runs wstest's own entry
# point (the one the venv's bin/wstest calls) with the same arguments:
#
#   VENV/bin/python scripts/autobahn_wstest.py -m fuzzingserver -s SPEC -u 0
import sys

# wstest must be imported first: it picks and installs the reactor on import.
from autobahntestsuite.wstest import run
from twisted.internet import reactor

LOOPBACK = "127.0.0.1"


def _loopback(listen):
    def wrapped(port, factory, *args, **kwargs):
        # Both signatures take `interface` last; drop any positional one and force loopback.
        kwargs["interface"] = LOOPBACK
        if listen.__name__ == "listenTCP":
            args = args[:1]  # (backlog,)
        else:
            args = args[:2]  # (contextFactory, backlog)
        return listen(port, factory, *args, **kwargs)

    wrapped.__name__ = listen.__name__
    return wrapped


reactor.listenTCP = _loopback(reactor.listenTCP)
reactor.listenSSL = _loopback(reactor.listenSSL)

if __name__ == "__main__":
    sys.argv[0] = "wstest"
    sys.exit(run())
