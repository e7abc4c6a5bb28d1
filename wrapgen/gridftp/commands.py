"""The GridFTP command table: every verb the server knows, what it needs and its help text, as data. The
session's command loop asks this table (login needed? allowed in clear on a protected channel? allowed before
AUTH on a GSI-only server?), HELP is generated from it, and a test checks that each entry has its handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One verb: its argument syntax and help, and when it may be sent."""

    verb: str
    syntax: str
    help: str
    login: bool = True  # only after USER/PASS (or a GSI login)
    clear: bool = False  # may arrive unwrapped on a protected (AUTH GSSAPI) channel
    preauth: bool = False  # allowed before AUTH on a server that takes GSI logins only


_TABLE = (
    # login and session
    Command("USER", "<name>", "user name (anonymous, a password account, or :globus-mapping: after GSI)", login=False),
    Command("PASS", "<password>", "password for USER", login=False),
    Command("AUTH", "GSSAPI", "start a GSI login (RFC 2228)", login=False, clear=True, preauth=True),
    Command("ADAT", "<base64 token>", "a GSS token of the GSI login", login=False, clear=True, preauth=True),
    Command("QUIT", "", "end the session", login=False, clear=True, preauth=True),
    Command("NOOP", "", "do nothing", login=False, preauth=True),
    Command("SYST", "", "the system type", login=False, preauth=True),
    Command("FEAT", "", "the extensions this server speaks", login=False, preauth=True),
    Command("HELP", "[<verb>]", "this help", login=False, preauth=True),
    Command("OPTS", "UTF8 ON | MLST <facts> | RETR Parallelism=<n>,<n>,<n>;", "options", login=False),
    Command("PBSZ", "<size>", "protection buffer size (GSI)", login=False),
    Command("PROT", "C | P", "data channel protection: clear or private (GSI)", login=False),
    Command("STAT", "[<path>]", "session status, or a listing on the control channel"),
    Command("SITE", "HELP | CHMOD <octal> <path> | CLIENTINFO | WHOAMI", "site commands"),
    # files and directories
    Command("PWD", "", "the current directory"),
    Command("CWD", "<path>", "change directory"),
    Command("CDUP", "", "change to the parent directory"),
    Command("MKD", "<path>", "make a directory"),
    Command("RMD", "<path>", "remove an empty directory"),
    Command("DELE", "<path>", "delete a file"),
    Command("RNFR", "<path>", "rename from (RNTO follows)"),
    Command("RNTO", "<path>", "rename to"),
    Command("SIZE", "<path>", "a file's size"),
    Command("MDTM", "<path>", "a file's modification time"),
    Command("MFMT", "<YYYYMMDDHHMMSS> <path>", "set a file's modification time"),
    Command("MLST", "[<path>]", "facts of one path (RFC 3659)"),
    Command("CKSM", "<algorithm> <offset> <length> <path>", "a checksum computed by the server (-1: to the end)"),
    # transfer parameters and data connections
    Command("TYPE", "A | I", "ASCII or binary"),
    Command("MODE", "S | E", "stream, or GridFTP's extended block mode"),
    Command("STRU", "F", "file structure"),
    Command("SBUF", "<bytes>", "TCP buffer size of data connections"),
    Command("ALLO", "<bytes>", "the size of the next STOR"),
    Command("DCAU", "N | A", "data channel authentication (GSI)"),
    Command("REST", "<offset> | <ranges>", "restart point of the next transfer"),
    Command("PASV", "", "listen for a data connection (IPv4)"),
    Command("EPSV", "[ALL]", "listen for a data connection"),
    Command("SPAS", "", "striped passive (one stripe)"),
    Command("SPOR", "<h1,h2,h3,h4,p1,p2>", "striped port (one stripe)"),
    Command("PORT", "<h1,h2,h3,h4,p1,p2>", "connect to the client for data (IPv4)"),
    Command("EPRT", "|<proto>|<address>|<port>|", "connect to the client for data"),
    # transfers
    Command("LIST", "[<path>]", "ls -l style listing"),
    Command("NLST", "[<path>]", "names"),
    Command("MLSD", "[<path>]", "facts of a directory's entries (RFC 3659)"),
    Command("RETR", "<path>", "download"),
    Command("ERET", "P <offset> <length> <path>", "download a range"),
    Command("STOR", "<path>", "upload"),
    Command("APPE", "<path>", "append"),
    Command("ESTO", "A <offset> <path>", "upload into a range"),
    Command("ABOR", "", "abort the transfer"),
)
COMMANDS: dict[str, Command] = {c.verb: c for c in _TABLE}


def help_text(verb: str = "") -> tuple[int, str]:
    """HELP's reply: (214, every verb) or (214, one verb's syntax and help); 502 for an unknown verb."""
    if not verb:
        return 214, "The following commands are recognized:\n" + " ".join(sorted(COMMANDS)) + "\nEnd."
    c = COMMANDS.get(verb.upper())
    if c is None:
        return 502, f"HELP {verb[:20]}: unknown command"
    return 214, f"Syntax: {c.verb} {c.syntax}".rstrip() + f" ({c.help})"
