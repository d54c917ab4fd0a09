"""Writes the alert sounds of static/consult/alerts.js (run from the repository root):
static/sounds/chime.wav, a short two-note chime, and static/sounds/ring.wav, two rings
and a pause, meant to loop. Sine tones with soft edges, 16-bit mono: no outside files."""
import math
import struct
import wave

RATE = 16000


def tone(freqs: tuple[float, ...], seconds: float, volume: float = 0.35) -> list[float]:
    n = int(RATE * seconds)
    fade = int(RATE * 0.01)
    out = []
    for i in range(n):
        env = min(1.0, i / fade, (n - i) / fade)
        v = sum(math.sin(2 * math.pi * f * i / RATE) for f in freqs) / len(freqs)
        out.append(v * env * volume)
    return out


def decay(freq: float, seconds: float, volume: float = 0.4) -> list[float]:
    n = int(RATE * seconds)
    return [math.sin(2 * math.pi * freq * i / RATE) * volume * math.exp(-4 * i / n)
            * min(1.0, i / 80) for i in range(n)]


def silence(seconds: float) -> list[float]:
    return [0.0] * int(RATE * seconds)


def write(path: str, samples: list[float]) -> None:
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1, min(1, s)) * 32767))
                               for s in samples))


if __name__ == "__main__":
    write("static/sounds/chime.wav", decay(880, 0.45) + decay(1318.5, 0.9))
    ring = tone((440, 480), 0.4) + silence(0.2) + tone((440, 480), 0.4) + silence(1.4)
    write("static/sounds/ring.wav", ring)
