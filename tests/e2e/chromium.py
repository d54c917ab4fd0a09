"""How the project starts headless Chromium (tests and benchmarks): the system's
browser, no background traffic (the network is closed), and for calls fake devices
on loopback. No pytest here: bench scripts import it too."""

CHROMIUM = "/usr/bin/chromium"
BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--disable-quic"]
# WebRTC on loopback with a fake camera (a moving test pattern) and microphone (a beep),
# no permission prompt, host candidates as plain addresses, media that plays unasked.
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--allow-loopback-in-peer-connection",
              "--disable-features=WebRtcHideLocalIpsWithMdns",
              "--autoplay-policy=no-user-gesture-required"]
