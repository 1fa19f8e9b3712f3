"""`hotline user …` against a real database: the administrator's verbs from
a shell, with the same rules and the same audit as the users page."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from hotline.cli import main


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "hotline.toml"
    path.write_text(f'state_dir = "{tmp_path / "var"}"\n')
    return str(path)


def run(config: str, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = "") -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--config", config, "user", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_cli_administers_people_with_the_pages_rules(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(config, capsys, "add", "wang", "--name", "王五", "--role", "agent")
    assert code == 0 and "已新建用户 wang（王五，坐席员）" in out
    first = re.search(r"password: (\S+)", out).group(1)  # type: ignore[union-attr]
    assert len(first) >= 10 and "首次登录须修改" in out
    # One rule everywhere: units that exist, known roles (all of them named), ten-character passwords.
    code, _, err = run(config, capsys, "add", "zjw1", "--role", "department", "--department", "nosuch")
    assert code == 2 and "没有编码为 nosuch 的单位或网格站" in err
    code, _, err = run(config, capsys, "add", "x", "--role", "boss")
    assert code == 2 and "grid（网格员）" in err and "leader（领导" in err
    code, _, err = run(config, capsys, "add", "li", "--role", "lead", "--password-stdin", stdin="short-pw\n")
    assert code == 2 and "密码至少 10 个字符" in err
    code, out, _ = run(config, capsys, "add", "li", "--role", "lead", "--password-stdin", stdin="long-enough-pw\n")
    assert code == 0 and "password:" not in out  # chosen by the person: neither printed nor one-time
    code, out, _ = run(config, capsys, "add", "zjw1", "--name", "住建", "--role", "department", "--department", "zjw")
    assert code == 0 and "市住房城乡建设委" in out

    code, out, _ = run(config, capsys, "edit", "wang", "--role", "agent", "--role", "lead", "--name", "王五五")
    assert code == 0 and "王五五，坐席员、值班长" in out
    code, out, _ = run(config, capsys, "disable", "wang")
    assert code == 0 and "已停用" in out
    code, out, _ = run(config, capsys, "list")
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "已停用" in lines["wang"] and "坐席员、值班长" in lines["wang"] and "从未登录" in lines["wang"]
    assert "可用" in lines["li"] and "待改密码" not in lines["li"] and "待改密码" in lines["zjw1"]
    code, out, _ = run(config, capsys, "enable", "wang")
    assert code == 0 and "已启用" in out
    code, out, _ = run(config, capsys, "reset-password", "wang")
    again = re.search(r"password: (\S+)", out).group(1)  # type: ignore[union-attr]
    assert code == 0 and again != first
    code, out, _ = run(config, capsys, "skills", "wang", "涉企,方言")
    assert code == 0 and "涉企,方言" in out
    code, _, err = run(config, capsys, "disable", "nobody")
    assert code == 2 and "没有用户 nobody" in err
    # Every change audited, with who made it (the shell's user).
    code, out, _ = run(config, capsys, "audit", "wang")
    kinds = [line.split()[4] for line in out.splitlines()]
    assert kinds == ["修改", "重置密码", "启用", "停用", "修改", "新建"] and all("cli:" in x for x in out.splitlines())
