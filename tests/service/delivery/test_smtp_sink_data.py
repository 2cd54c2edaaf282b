"""The sink reads DATA in blocks: it must store and answer exactly as aiosmtpd's line reader.

Each case is sent over a raw socket, in pieces that cut through line ends and the final
``.``, to the sink's server and to aiosmtpd's own; replies and stored mails must be equal.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP

from service.delivery.smtp_sink import SERVER_NAME, OutboxHandler, _BlockReadingSMTP, _Controller

LIMIT = 4096  # data_size_limit of both servers, so that "too much" is quick to reach


class _LineReadingController(_Controller):
    """aiosmtpd's SMTP as it comes, the reference."""

    def factory(self) -> SMTP:
        return SMTP(self.handler, **self.SMTP_kwargs)


def _serve(kind: type[_Controller], directory: Path) -> _Controller:
    directory.mkdir()
    controller = kind(
        OutboxHandler(directory),
        hostname="127.0.0.1",
        port=0,
        server_hostname=SERVER_NAME,
        data_size_limit=LIMIT,
    )
    controller.start()
    return controller


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, _Controller]]:
    running = {
        "blocks": _serve(_Controller, tmp_path / "blocks"),
        "lines": _serve(_LineReadingController, tmp_path / "lines"),
    }
    yield running
    for controller in running.values():
        controller.stop()


def _converse(port: int, data: bytes, piece: int) -> list[bytes]:
    """EHLO, a mail whose DATA is ``data`` sent ``piece`` bytes at a time, then RSET, MAIL
    and QUIT sent at once after it (so bytes beyond the end of the mail must be left for the
    commands). Returns the server's replies to DATA's end and after."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        reader = connection.makefile("rb")

        def reply() -> bytes:
            lines = [reader.readline()]
            while lines[-1][3:4] == b"-":
                lines.append(reader.readline())
            return lines[-1][:3]

        reply()  # greeting
        for command in (b"EHLO client", b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>"):
            connection.sendall(command + b"\r\n")
            reply()
        connection.sendall(b"DATA\r\n")
        assert reply() == b"354"
        after = b"RSET\r\nMAIL FROM:<c@example.com>\r\nQUIT\r\n"
        stream = data + after
        for start in range(0, len(data), piece):
            connection.sendall(stream[start : min(start + piece, len(data))])
        connection.sendall(after)
        return [reply(), reply(), reply(), reply()]


def _stored(directory: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(directory.glob("*.eml"))]


#: What the end of DATA is answered with, by case (250 unless named here).
REFUSED = {
    "line too long": b"500",
    "too much data": b"552",
    "a long line, then too much": b"500",
    "too much, then a long line": b"552",
}
CASES = {
    "empty mail": b".\r\n",
    "one line": b"Subject: x\r\n\r\nhello\r\n.\r\n",
    "dots": b"Subject: x\r\n\r\n..\r\n.starts\r\n..two\r\nends.\r\n. \r\nlast.\r\n.\r\n",
    "a line ending in a dot before the end": b"a\r\nb.\r\n.\r\n",
    "dot first": b".hidden first line\r\nbody\r\n.\r\n",
    "bare LF is not a line end": b"a\n.\r\nb\r\n.\r\n",
    "base64 lines": b"Subject: x\r\n\r\n" + (b"QUJD" * 19 + b"\r\n") * 40 + b".\r\n",
    "line too long": b"Subject: x\r\n\r\n" + b"x" * 1200 + b"\r\nok\r\n.\r\n",
    "too much data": (b"y" * 70 + b"\r\n") * 80 + b".\r\n",
    "a long line, then too much": b"x" * 1200 + b"\r\n" + (b"y" * 70 + b"\r\n") * 80 + b".\r\n",
    "too much, then a long line": (b"y" * 70 + b"\r\n") * 80 + b"x" * 1200 + b"\r\n.\r\n",
}


@pytest.mark.parametrize("piece", [1, 7, 4096])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_block_reader_answers_and_stores_as_aiosmtpd_reads_line_by_line(
    servers: dict[str, _Controller], tmp_path: Path, case: str, piece: int
) -> None:
    data = CASES[case]
    replies = {name: _converse(c.port, data, piece) for name, c in servers.items()}

    assert replies["blocks"] == replies["lines"]
    assert replies["blocks"][0] == REFUSED.get(case, b"250")
    assert replies["blocks"][1:] == [b"250", b"250", b"221"]  # the commands after the mail
    assert _stored(tmp_path / "blocks") == _stored(tmp_path / "lines")


def test_a_mail_over_the_size_limit_is_not_kept_in_memory_while_it_arrives() -> None:
    # 8 MB against a 4 KB limit, fed as a client would send it: what is kept stays small.
    line = b"z" * 70 + b"\r\n"

    async def read() -> tuple[bytearray, str | None] | None:
        loop = asyncio.get_running_loop()
        server = _BlockReadingSMTP(OutboxHandler(Path("unused")), data_size_limit=LIMIT, loop=loop)
        reader = asyncio.StreamReader(limit=server.line_length_limit)
        server._reader = reader
        for _ in range(8 * 1024 * 1024 // (len(line) * 100)):
            reader.feed_data(line * 100)
        reader.feed_data(b".\r\n")
        reader.feed_eof()
        return await server._read_data()

    result = asyncio.run(read())

    assert result is not None
    kept, refusal = result
    assert refusal is not None and refusal.startswith("552") and len(kept) < 10_000


ADDRESSES = [
    "",
    "<>",
    "<a@example.com>",
    "<a@example.com> SIZE=1000 BODY=8BITMIME",
    "a@example.com",
    "a@example.com SIZE=10",
    "  <spaced@example.com>",
    "<a.very.long.local.part@example.com>",
    '<"quoted local"@example.com>',
    "<@route:a@example.com>",
    "<a@[127.0.0.1]>",
    "<no-at-sign>",
    "<unclosed@example.com",
    "not an address at all <",
    "<a@example.com>>",
    "<ünïcode@example.com>",
    "@",
]


@pytest.mark.parametrize("local_part_limit", [0, 10])
def test_mail_and_rcpt_addresses_are_parsed_as_aiosmtpd_parses_them(local_part_limit: int) -> None:
    async def parse() -> list[tuple[object, object]]:
        loop = asyncio.get_running_loop()
        handler = OutboxHandler(Path("unused"))
        ours = _BlockReadingSMTP(handler, loop=loop)
        theirs = SMTP(handler, loop=loop)
        pairs = []
        for server in (ours, theirs):
            server.local_part_limit = local_part_limit
        for argument in ADDRESSES * 2:  # the second time from the cache
            pairs.append((ours._getaddr(argument), theirs._getaddr(argument)))
        return pairs

    for ours, theirs in asyncio.run(parse()):
        assert ours == theirs
    assert asyncio.run(parse())[3][0][0] == "a@example.com"
