"""A real SIP phone for end-to-end tests: Debian's baresip, headless.

It sends a 440 Hz tone as its microphone and writes what it hears to a
file; everything stays on loopback. `answer=True` picks up every call.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULES = Path("/usr/lib/baresip/modules")


class Baresip:
    def __init__(
        self,
        folder: Path,
        *,
        user: str,
        password: str,
        pbx_port: int,
        listen_port: int,
        rtp_ports: tuple[int, int],
        answer: bool = False,
        transport: str = "udp",
        srtp: bool = False,
        address: str = "127.0.0.1",
        server: str = "127.0.0.1",
    ):
        self.folder = folder
        self.user = user
        self.password = password
        self.server = server
        self.folder.mkdir(parents=True, exist_ok=True)
        (folder / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen {address}:{listen_port}",
                    # What the phone hears goes to nothing but sndfile's dump (this
                    # baresip's aufile only reads); snd_path holds one WAV per call.
                    "audio_player aubridge,heard",
                    f"snd_path {folder}",
                    "audio_source ausine,440",
                    # ausine only makes 48 kHz stereo; baresip resamples to the codec's 8 kHz.
                    "ausrc_srate 48000",
                    "auplay_srate 48000",
                    "ausrc_channels 2",
                    "auplay_channels 2",
                    "audio_alert aufile," + str(folder / "alert.wav"),
                    f"rtp_ports {rtp_ports[0]}-{rtp_ports[1]}",
                    f"module_path {MODULES}",
                    "module g711.so",
                    "module ausine.so",
                    "module aufile.so",
                    "module aubridge.so",
                    "module sndfile.so",
                    *(["module srtp.so"] if srtp else []),
                    "module_app account.so",
                    "module_app menu.so",
                    "",
                ]
            )
        )
        params = (
            f";auth_pass={password};regint=600"
            + (";answermode=auto" if answer else "")
            + (";mediaenc=srtp" if srtp else "")
        )
        uri = f"sip:{user}@{server}:{pbx_port}" + (f";transport={transport}" if transport != "udp" else "")
        (folder / "accounts").write_text(f"<{uri}>{params}\n")
        self.pbx_port = pbx_port
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return Path(BARESIP).exists() and (MODULES / "ausine.so").exists()

    def start(self, dial: str | None = None) -> None:
        args = [BARESIP, "-f", str(self.folder)]
        if dial:
            args += ["-e", f"/dial sip:{dial}@{self.server}:{self.pbx_port}"]
        self.log = (self.folder / "baresip.log").open("wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def heard(self) -> Path | None:
        """The last call's received audio, as sndfile wrote it (dump-…-dec.wav)."""
        dumps = sorted(self.folder.glob("dump-*-dec.wav"), key=lambda p: p.stat().st_mtime)
        return dumps[-1] if dumps else None

    def output(self) -> str:
        return (self.folder / "baresip.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            self.log.close()
