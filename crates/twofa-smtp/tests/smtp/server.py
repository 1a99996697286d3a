"""A throwaway SMTP server for the twofa-smtp tests, on aiosmtpd.

Listens on 127.0.0.1 on a free port, prints "READY <port>" on stdout and
serves until its standard input closes (the test process holds the other
end, so the server also ends when the tests end, however they end).

Each accepted message is written, before the final 250 reply, as one JSON
file in --out: the envelope, whether the connection was encrypted, the
user that signed in, the connection's number, the headers and the decoded
text of every MIME part.

Options:
  --tls none|starttls|implicit   how clients connect (starttls is required
                                 before MAIL when chosen)
  --cert FILE --key FILE         the server certificate chain and key (PEM)
  --auth USER:PASSWORD           require AUTH (PLAIN or LOGIN) with these
  --reply ADDRESS=CODE           answer RCPT TO:<ADDRESS> with CODE
  --stall ADDRESS                never answer the end of a message to ADDRESS
"""

import argparse
import asyncio
import email
import email.policy
import itertools
import json
import os
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult

REPLIES = {
    421: "421 4.3.2 service shutting down, try again later",
    450: "450 4.2.1 mailbox busy, try again later",
    451: "451 4.3.0 local error, try again later",
    452: "452 4.3.1 insufficient storage",
    550: "550 5.1.1 <{address}>: mailbox unavailable",
    551: "551 5.1.6 <{address}>: user not local",
    552: "552 5.3.4 message too big",
    553: "553 5.1.3 <{address}>: mailbox name not allowed",
    554: "554 5.7.1 <{address}>: rejected by policy",
}


class Recorder:
    def __init__(self, out, replies, stalls):
        self.out = out
        self.replies = replies
        self.stalls = stalls
        self.count = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.replies.get(address.lower())
        if code is not None:
            return REPLIES[code].format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(address.lower() in self.stalls for address in envelope.rcpt_tos):
            await asyncio.Event().wait()
        raw = envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        headers = {}
        for name, value in message.items():
            headers.setdefault(name.lower(), []).append(str(value))
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append(
                {
                    "content_type": part.get_content_type(),
                    "charset": part.get_content_charset(),
                    "text": part.get_content(),
                }
            )
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "auth_user": session.auth_data,
            "connection": server.connection_number,
            "content_type": message.get_content_type(),
            "headers": headers,
            "parts": parts,
            "raw": raw.decode("utf-8", "replace"),
        }
        number = next(self.count)
        final = os.path.join(self.out, f"{number:04}.json")
        partial = final + ".partial"
        with open(partial, "w", encoding="utf-8") as file:
            json.dump(record, file)
        os.replace(partial, final)
        return "250 2.0.0 accepted"


def authenticator(expected_user, expected_password):
    def check(server, session, envelope, mechanism, auth_data):
        user = auth_data.login.decode("utf-8")
        password = auth_data.password.decode("utf-8")
        if user == expected_user and password == expected_password:
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth")
    parser.add_argument("--reply", action="append", default=[])
    parser.add_argument("--stall", action="append", default=[])
    args = parser.parse_args()

    replies = {}
    for rule in args.reply:
        address, code = rule.rsplit("=", 1)
        replies[address.lower()] = int(code)
    recorder = Recorder(args.out, replies, {address.lower() for address in args.stall})

    context = None
    if args.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    options = {"hostname": "smtp.test", "ident": "twofa test server"}
    if args.tls == "starttls":
        options.update(tls_context=context, require_starttls=True)
    if args.auth is not None:
        user, password = args.auth.split(":", 1)
        options.update(
            authenticator=authenticator(user, password),
            auth_required=True,
            # Over implicit TLS aiosmtpd does not see the encryption itself.
            auth_require_tls=(args.tls == "starttls"),
        )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    connections = itertools.count(1)

    def factory():
        protocol = SMTP(recorder, loop=loop, **options)
        protocol.connection_number = next(connections)
        return protocol

    server = loop.run_until_complete(
        loop.create_server(
            factory,
            host="127.0.0.1",
            port=0,
            ssl=context if args.tls == "implicit" else None,
        )
    )
    port = server.sockets[0].getsockname()[1]

    def wait_for_stdin_to_close():
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
    print(f"READY {port}", flush=True)
    loop.run_forever()
    server.close()


if __name__ == "__main__":
    main()
