"""What a person who just started the hotline reads in the terminal."""

from __future__ import annotations

import os

from hotline import accounts
from hotline.config import Settings
from hotline.demo import DEMO_ACCOUNTS_FILE, DemoOptions
from hotline.demo_work import GRID, LAWYER, LEAD


def banner(settings: Settings, demo: DemoOptions | None, first_admin: bool) -> str:
    """What a person who just started the hotline needs, printed once it
    listens; the first admin's password last, so nothing scrolls it away."""
    host = "127.0.0.1" if settings.web.host in ("0.0.0.0", "::") else settings.web.host
    url = f"{'https' if settings.web.https else 'http'}://{host}:{settings.web.port}/"
    lines = [f"hotline: serving on {url}", "", f"  12345 市民服务热线已启动。在浏览器打开：{url}"]
    # A user added from the shell must land in this installation's state (the demo keeps its own).
    cli = f"HOTLINE_STATE_DIR={settings.state_dir} .venv/bin/hotline" if demo is not None else ".venv/bin/hotline"
    if demo is not None:
        accounts_file = settings.state_dir / DEMO_ACCOUNTS_FILE
        lines.append(f"  演示模式：模拟坐席与来电（每分钟约 {demo.rate_per_minute:g} 通），数据在 {settings.state_dir}")
        lines.append(f"  值班长看座席地图：账号 {LEAD}；坐席工作台：账号 demo01；密码都在 {accounts_file}")
        lines.append(
            f"  另有律师 {LAWYER}（/desk）与网格员 {GRID}（手机打开 /grid）；挪车、110、网格每 5 分钟各演示一次"
        )
    lines += [
        "",
        f"  添加坐席：  {cli} user add zhangsan --name 张三 --role agent",
        f"  值班长：    {cli} user add lisi --name 李四 --role lead",
        "  用户管理：  管理员登录后打开 /admin/users",
        "  软电话设置：.venv/bin/hotline seat phone seat01",
    ]
    if settings.web.access_log == "file":
        lines.append(f"  访问日志：  {settings.state_dir / 'access.log'}")
    if first_admin:
        # The password itself never goes to stdout: a service's output ends
        # up in journals and terminals' scrollback that others read.
        first = settings.state_dir / accounts.FIRST_ADMIN_FILE
        lines += [
            "",
            "  首次启动，已创建管理员 admin（首次登录后须设置新密码）。",
            f"    一次性密码保存在 {first}（仅服务用户可读，改密后自动删除），查看：",
            f"    sudo -u hotline cat {first}" if os.geteuid() == 0 else f"    cat {first}",
        ]
    lines += ["", "  按 Ctrl+C 停止。"]
    return "\n".join(lines)
