"""What a person who just started the hotline reads in the terminal."""

from __future__ import annotations

import os

from hotline import accounts
from hotline.config import Settings
from hotline.demo import DemoOptions


def banner(settings: Settings, demo: DemoOptions | None, first_admin: bool) -> str:
    """What a person who just started the hotline needs, printed once it listens."""
    host = "127.0.0.1" if settings.web.host in ("0.0.0.0", "::") else settings.web.host
    url = f"http://{host}:{settings.web.port}/"
    lines = [f"hotline: serving on {url}", "", f"  12345 市民服务热线已启动。在浏览器打开：{url}"]
    if demo is not None:
        lines.append(f"  演示模式：模拟坐席与来电（每分钟约 {demo.rate_per_minute:g} 通），数据在 {settings.state_dir}")
        lines.append(f"  座席工作台可用演示坐席登录：账号 demo01，密码见 {settings.state_dir / 'demo-accounts.txt'}")
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
    lines += [
        "",
        "  添加坐席：  .venv/bin/hotline user add zhangsan --name 张三 --role agent",
        "  值班长：    .venv/bin/hotline user add lisi --name 李四 --role lead",
        "  软电话设置：.venv/bin/hotline seat phone seat01",
        "  按 Ctrl+C 停止。",
    ]
    return "\n".join(lines)
