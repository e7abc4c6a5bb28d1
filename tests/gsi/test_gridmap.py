"""grid-mapfile parsing and authorization decisions."""

from __future__ import annotations

import pytest

from wrapgen.gsi import GSIError
from wrapgen.gsi.gridmap import Gridmap


def test_quoted_dns_several_accounts_and_comments(tmp_path) -> None:
    gm = tmp_path / "grid-mapfile"
    gm.write_text('# users of the lab\n'
                  '"/O=Grid/OU=Lab/CN=Jane Doe" jane,labuser\n'
                  '\n'
                  '"/O=Grid/OU=Lab/CN=John \\"JJ\\" Smith"   john\n'
                  '/O=Grid/OU=Lab/CN=Bare bare\n'
                  '"/O=Grid/OU=Lab/CN=Jane Doe" extra\n')
    m = Gridmap.load(gm)
    assert m.accounts("/O=Grid/OU=Lab/CN=Jane Doe") == ["jane", "labuser", "extra"]
    assert m.authorize("/O=Grid/OU=Lab/CN=Jane Doe") == "jane"
    assert m.authorize("/O=Grid/OU=Lab/CN=Jane Doe", "labuser") == "labuser"
    assert m.accounts('/O=Grid/OU=Lab/CN=John "JJ" Smith') == ["john"]
    with pytest.raises(GSIError, match=r"may not act as 'root': grid-mapfile .* allows jane, labuser, extra"):
        m.authorize("/O=Grid/OU=Lab/CN=Jane Doe", "root")
    with pytest.raises(GSIError, match=r"/O=Other/CN=X is not in grid-mapfile"):
        m.authorize("/O=Other/CN=X")


@pytest.mark.parametrize("line", ['"/O=Grid/CN=No Account"', '"CN=no slash" user', '"/O=unterminated user'])
def test_bad_lines_name_the_file_and_line(tmp_path, line) -> None:
    gm = tmp_path / "grid-mapfile"
    gm.write_text(f'"/O=Grid/CN=Fine" fine\n{line}\n')
    with pytest.raises(GSIError, match=rf"{gm}:2: "):
        Gridmap.load(gm)


def test_a_missing_file(tmp_path) -> None:
    with pytest.raises(GSIError, match="cannot read grid-mapfile"):
        Gridmap.load(tmp_path / "nope")
