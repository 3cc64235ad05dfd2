#!/usr/bin/python3
"""A real SMTP server for the email channel's tests (aiosmtpd, from Debian's python3-aiosmtpd).

    smtp_receiver.py PORT DIRECTORY USER PASSWORD

Listens on 127.0.0.1:PORT, requires AUTH (PLAIN or LOGIN) as USER/PASSWORD, and writes each message
it accepts to DIRECTORY/<n>.eml: X-Envelope-From, X-Envelope-To and X-Authenticated-As lines, then
the message exactly as received. Prints "ready" once it accepts connections; stops on SIGTERM.
"""
import pathlib
import signal
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, directory, user, password = int(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]


class Store:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        head = (f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {','.join(envelope.rcpt_tos)}\r\n"
                f"X-Authenticated-As: {login}\r\n")
        # Written aside, then renamed: a reader that lists the directory never sees a half-written message.
        partial = directory / f".{self.count}.eml.partial"
        partial.write_bytes(head.encode() + envelope.original_content)
        partial.rename(directory / f"{self.count}.eml")
        return "250 OK stored"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
    return AuthResult(success=ok, auth_data=auth_data if ok else None)


controller = Controller(Store(), hostname="127.0.0.1", port=port, authenticator=authenticate,
                        auth_required=True, auth_require_tls=False)
controller.start()
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
# A test process may start us with SIGTERM blocked (threads' masks are inherited).
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
stop.wait()
controller.stop()
