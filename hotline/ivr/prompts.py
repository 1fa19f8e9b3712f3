"""Prompt audio: synthesised at publish time, never during a call.

Text goes through espeak-ng (voice cmn-latn-pinyin speaks Mandarin; 'cmn'
reads the tone numbers out in English) and sox to 8 kHz mono 16-bit WAV, what
Asterisk plays without transcoding. Files are named by a hash of voice, speed
and text, so a prompt is made once however many flows use it. pyttsx3 was
measured leaving half-written files, so synthesis is one checked subprocess
pipeline per prompt.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hotline.config import Settings
from hotline.errors import HotlineError
from hotline.ivr.flow import Flow, Prompt, prompts_of
from hotline.ivr.runner import CompiledFlow

RATE = 8000
# Mandarin through espeak-ng cmn-latn-pinyin at speed 180, measured on the
# shipped prompts: what a prompt not yet synthesised is assumed to last.
SECONDS_PER_CHAR_AT_180 = 0.27

# Status words read back to a caller asking about a ticket; synthesised with
# the other system prompts at publish time.
STATUS_WORDS = {
    "accepted": "已受理，正在派发。",
    "dispatched": "已派发至承办部门办理。",
    "feedback": "承办部门已反馈，等待回访。",
    "revisit": "正在回访。",
    "closed": "已办结。",
    "returned": "已退回，正在重新派发。",
}
DIGIT_WORDS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


class PromptError(HotlineError):
    error_id = "ivr-prompt-failed"
    status = 422


class Synthesizer(Protocol):
    name: str

    def synthesize(self, text: str, out: Path) -> None: ...


@dataclass
class EspeakSynthesizer:
    voice: str = "cmn-latn-pinyin"
    speed: int = 160

    @property
    def name(self) -> str:
        return f"espeak-ng:{self.voice}:{self.speed}"

    def synthesize(self, text: str, out: Path) -> None:
        for tool in ("espeak-ng", "sox"):
            if shutil.which(tool) is None:
                raise PromptError(f"{tool} 未安装，无法合成提示音")
        # The text is whatever an admin or a shift lead typed: it goes in on
        # stdin, never as an argument, where "-f FILE" or "--phonout=FILE"
        # would be read as options (both were exploited: a secrets file read
        # aloud to callers, an arbitrary file truncated).
        espeak = subprocess.Popen(
            ["espeak-ng", "-v", self.voice, "-s", str(self.speed), "--stdout", "--stdin"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        sox = subprocess.Popen(
            [
                "sox",
                "-t",
                "wav",
                "-",
                "-r",
                str(RATE),
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed-integer",
                "--",
                str(out),
                "gain",
                "-3",
            ],
            stdin=espeak.stdout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # Leaving the block closes every pipe and reaps both, however it ends.
        with espeak, sox:
            assert espeak.stdin is not None and espeak.stdout is not None
            espeak.stdout.close()  # sox holds it now; espeak sees EPIPE if sox dies
            try:
                espeak.stdin.write(text.encode("utf-8"))
                espeak.stdin.close()
            except BrokenPipeError:
                pass
            try:
                sox_err = sox.communicate(timeout=60)[1]
                espeak_err = espeak.stderr.read().decode(errors="replace") if espeak.stderr else ""
                espeak_code = espeak.wait(timeout=60)
            except subprocess.TimeoutExpired:
                sox.kill()
                espeak.kill()
                raise PromptError("合成超时") from None
        if espeak_code != 0 or sox.returncode != 0:
            raise PromptError(f"合成失败：{(espeak_err or sox_err.decode(errors='replace')).strip()[:200]}")


def check_wav(path: Path) -> float:
    """Seconds of audio in an 8 kHz mono 16-bit WAV; raises PromptError otherwise."""
    try:
        with wave.open(str(path), "rb") as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
                raise PromptError(f"{path.name} 不是 8 kHz 单声道 16 位 WAV")
            frames = w.getnframes()
    except (wave.Error, EOFError, FileNotFoundError) as exc:
        raise PromptError(f"{path.name} 不是完整的 WAV 文件：{exc}") from None
    if frames < RATE // 10:
        raise PromptError(f"{path.name} 太短（{frames} 个采样）")
    return frames / RATE


class PromptStore:
    """Makes and finds prompt files; paths returned are as Asterisk sees them."""

    def __init__(self, settings: Settings, synth: Synthesizer | None = None):
        self.dir = settings.prompts_dir
        self.pbx_dir = settings.ivr.pbx_prompts_dir.rstrip("/")
        self.uploads = settings.state_dir / "prompt-uploads"
        self.synth = synth or EspeakSynthesizer(settings.ivr.voice, settings.ivr.speed)
        self._limit = asyncio.Semaphore(2)  # two cores: keep the controller responsive

    def _pbx(self, name: str) -> str:
        # Asterisk wants the path without the extension.
        return f"{self.pbx_dir}/{name}"

    def text_name(self, text: str) -> str:
        digest = hashlib.sha256(f"{self.synth.name}\0{text}".encode()).hexdigest()[:24]
        return f"tts-{digest}"

    def seconds(self, prompt: Prompt) -> float:
        """How long a prompt plays: from its audio when it has been made,
        else estimated from the text (drafts are checked before synthesis)."""
        if prompt.file:
            for candidate in (self.uploads / prompt.file,):
                try:
                    with wave.open(str(candidate), "rb") as w:
                        return w.getnframes() / float(w.getframerate())
                except (wave.Error, EOFError, OSError):
                    return 0.0
        text = prompt.text.strip()
        if not text:
            return 0.0
        made = self.dir / f"{self.text_name(text)}.wav"
        try:
            return check_wav(made)
        except PromptError:
            speed = getattr(self.synth, "speed", 180)
            return len(text) * SECONDS_PER_CHAR_AT_180 * 180 / speed

    async def for_text(self, text: str) -> str:
        name = self.text_name(text)
        target = self.dir / f"{name}.wav"
        if not target.exists():
            async with self._limit:
                await asyncio.to_thread(self._make, text, target)
        return self._pbx(name)

    def _make(self, text: str, target: Path) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp.wav")
        try:
            self.synth.synthesize(text, tmp)
            check_wav(tmp)
            os.replace(tmp, target)  # only whole, checked files get the real name
        finally:
            tmp.unlink(missing_ok=True)

    async def fixed(self, name: str, text: str, folder: Path | None = None) -> str:
        """A prompt Asterisk's own config names (queues.conf, say.c): synthesised,
        then given that fixed name; replaced atomically when the text changes."""
        made = await self.for_text(text)
        src = self.dir / f"{made.rsplit('/', 1)[-1]}.wav"
        (folder or self.dir).mkdir(parents=True, exist_ok=True)
        target = (folder or self.dir) / f"{name}.wav"
        if target.exists() and target.read_bytes() == src.read_bytes():
            return self._pbx(name)
        tmp = target.with_suffix(".tmp.wav")
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
        return self._pbx(name)

    async def for_file(self, rel: str) -> str:
        """A recorded prompt from the uploads folder, converted to 8 kHz once."""
        src = self.uploads / rel
        if not src.is_file():
            raise PromptError(f"录音文件不存在：{rel}")
        digest = hashlib.sha256(src.read_bytes()).hexdigest()[:24]
        name = f"rec-{digest}"
        target = self.dir / f"{name}.wav"
        if not target.exists():
            await asyncio.to_thread(self._convert, src, target)
        return self._pbx(name)

    def _convert(self, src: Path, target: Path) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp.wav")
        proc = subprocess.run(
            ["sox", str(src), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(tmp)],
            capture_output=True,
            timeout=60,
        )
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise PromptError(f"无法转换录音文件 {src.name}：{proc.stderr.decode(errors='replace')[:200]}")
        check_wav(tmp)
        os.replace(tmp, target)

    async def compile(self, flow: Flow, version: int) -> CompiledFlow:
        """Every prompt of the flow made (or found); any failure fails the publish."""
        jobs: dict[tuple[str, str], asyncio.Future[str]] = {}
        for nid, node in flow.nodes.items():
            for field, prompt in prompts_of(node):
                if prompt.file:
                    jobs[(nid, field)] = asyncio.ensure_future(self.for_file(prompt.file))
                elif prompt.text.strip():
                    jobs[(nid, field)] = asyncio.ensure_future(self.for_text(prompt.text.strip()))
        system_jobs = {f"status:{k}": asyncio.ensure_future(self.for_text(v)) for k, v in STATUS_WORDS.items()}
        system_jobs |= {f"digit:{k}": asyncio.ensure_future(self.for_text(v)) for k, v in DIGIT_WORDS.items()}
        everything = list(jobs.values()) + list(system_jobs.values())
        results = await asyncio.gather(*everything, return_exceptions=True)
        failures = []
        for (key, _), result in zip(list(jobs.items()) + list(system_jobs.items()), results):
            if isinstance(result, BaseException):
                where = f"{key[0]}.{key[1]}" if isinstance(key, tuple) else key
                failures.append(f"{where}：{result}")
        if failures:
            raise PromptError("提示音无法生成：" + "；".join(failures), failures=failures)
        return CompiledFlow(
            flow=flow,
            version=version,
            prompts={k: f.result() for k, f in jobs.items()},
            system={k: f.result() for k, f in system_jobs.items()},
        )
