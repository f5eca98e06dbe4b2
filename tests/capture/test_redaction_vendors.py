"""Camera credentials hidden in every form real cameras put them in a URL: userinfo, query
parameters, XMEye/Dahua path segments, Amcrest's ``authbasic``, Foscam's ``usr/pwd``, ONVIF
snapshot URIs, UniFi Protect's path token. Each URL is checked alone, inside the error text
FFmpeg makes of it, and inside a Python repr; the host, the port and the stream path stay
readable for diagnosis."""

from __future__ import annotations

import pytest

from edge.capture.base import SourceError
from edge.config.loader import ConfigError, loads
from edge.core.redact import redact

S = "Sx9-q7w"  # a password; each URL below names its secrets

VENDORS: list[tuple[str, str, tuple[str, ...], str]] = [
    # (vendor, URL, secrets that must go, text that must stay)
    ("generic userinfo", f"rtsp://admin:{S}@10.0.0.5:554/stream1", (S, "admin:"), "10.0.0.5:554"),
    ("password with @ / :", "rtsp://admin:p@ss/w:rd@10.0.0.5/live", ("p@ss", "w:rd"), "/live"),
    (
        "XMEye underscore path",
        f"rtsp://10.0.0.6:554/user=admin_password={S}_channel=1_stream=0.sdp",
        (S,),
        "_channel=1_stream=0.sdp",
    ),
    (
        "XMEye ampersand path",
        f"rtsp://10.0.0.6:554/user=admin&password={S}&channel=1&stream=0.sdp?real_stream",
        (S,),
        "&channel=1&stream=0.sdp",
    ),
    (
        "XMEye password with underscores",
        "rtsp://10.0.0.6/user=admin_password=Se_cr_et9_channel=2_stream=1.sdp",
        ("Se_cr_et9", "cr_et9"),
        "_channel=2",
    ),
    (
        "Dahua / Amcrest RTSP",
        f"rtsp://admin:{S}@10.0.0.7:554/cam/realmonitor?channel=1&subtype=0",
        (S,),
        "/cam/realmonitor?channel=1&subtype=0",
    ),
    (
        "Amcrest / Dahua authbasic",
        "http://10.0.0.7/cam/realmonitor?channel=1&subtype=0&authbasic=YWRtaW46U3g5LXE3dw==",
        ("YWRtaW46U3g5LXE3dw",),
        "channel=1&subtype=0",
    ),
    (
        "Hikvision RTSP",
        f"rtsp://admin:{S}@10.0.0.8:554/Streaming/Channels/101?transportmode=unicast",
        (S,),
        "/Streaming/Channels/101",
    ),
    (
        "Hikvision ISAPI auth",
        "http://10.0.0.8/ISAPI/Streaming/channels/101/picture?auth=YWRtaW46U3g5",
        ("YWRtaW46U3g5",),
        "/ISAPI/Streaming/channels/101/picture",
    ),
    (
        "Hikvision PSIA query",
        f"rtsp://10.0.0.8:554/PSIA/streaming/channels/1?username=admin&password={S}",
        (S,),
        "username=admin",
    ),
    (
        "Axis query",
        f"rtsp://10.0.0.9/axis-media/media.amp?videocodec=h264&user=root&password={S}",
        (S,),
        "videocodec=h264",
    ),
    (
        "Uniview",
        f"rtsp://admin:{S}@10.0.0.10:554/unicast/c1/s0/live",
        (S,),
        "/unicast/c1/s0/live",
    ),
    (
        "Reolink HTTP",
        f"http://10.0.0.11/cgi-bin/api.cgi?cmd=Snap&channel=0&rs=x1&user=admin&password={S}",
        (S,),
        "cmd=Snap&channel=0",
    ),
    (
        "Reolink RTMP",
        f"rtmp://10.0.0.11/bcs/channel0_main.bcs?channel=0&stream=0&user=admin&password={S}",
        (S,),
        "channel0_main.bcs",
    ),
    (
        "Foscam usr/pwd",
        f"http://10.0.0.12:88/cgi-bin/CGIProxy.fcgi?cmd=snapPicture2&usr=admin&pwd={S}",
        (S,),
        "cmd=snapPicture2",
    ),
    (
        "old IP cam loginuse/loginpas",
        f"http://10.0.0.13/videostream.cgi?loginuse=admin&loginpas={S}",
        (S,),
        "/videostream.cgi",
    ),
    (
        "ONVIF snapshot user/pass",
        f"http://10.0.0.14/onvif/snapshot?user=admin&pass={S}",
        (S,),
        "/onvif/snapshot",
    ),
    (
        "D-Link passwd",
        f"http://10.0.0.15/video.cgi?user=admin&passwd={S};profile=1",
        (S,),
        "profile=1",
    ),
    ("TP-Link Tapo", f"rtsp://tapo-user:{S}@10.0.0.16:554/stream1", (S, "tapo-user"), "/stream1"),
    (
        "UniFi Protect token path",
        "rtsps://10.0.0.1:7441/Dn3YwEvd3cMzSGxt?enableSrtp",
        ("Dn3YwEvd3cMzSGxt",),
        "10.0.0.1:7441",
    ),
    (
        "token in query",
        "https://cam.example/live.m3u8?access_token=eyJhbGciOiJIUzI1NiJ9.e30.x",
        ("eyJhbGciOiJIUzI1NiJ9",),
        "/live.m3u8",
    ),
    (
        "percent-encoded inside another URL",
        f"http://relay/play?src=rtsp%3A%2F%2Fh%2Fx%3Fpassword%3D{S}%26ch%3D1",
        (S,),
        "http://relay/play",
    ),
]


@pytest.mark.parametrize(
    ("url", "secrets", "kept"),
    [pytest.param(u, s, k, id=v) for v, u, s, k in VENDORS],
)
def test_each_vendor_url_form_loses_its_credentials(
    url: str, secrets: tuple[str, ...], kept: str
) -> None:
    """Alone, in FFmpeg's error text and in a repr: no secret is left, the host, port and
    stream path still are, and redacting twice changes nothing."""
    for text in (
        url,
        f"[tcp @ 0x55d0] Connection to {url} failed: Connection refused",
        f"OSError(111, 'Connection refused', {url!r})",
        f"{url}: Server returned 404 Not Found",
    ):
        hidden = redact(text)
        for secret in secrets:
            assert secret not in hidden, f"{secret!r} left in {hidden!r}"
        assert kept in hidden, f"{kept!r} lost from {hidden!r}"
        assert "***" in hidden
        assert redact(hidden) == hidden


@pytest.mark.parametrize(
    "text",
    [
        "rtsp://10.0.0.5:554/Streaming/Channels/101",
        "rtsp://10.0.0.5:554/h264Preview_01_main",
        "rtsp://10.0.0.5/cam/realmonitor?channel=1&subtype=0",
        "rtsp://10.0.0.5/user=admin&password=&channel=1&stream=0.sdp",  # no password set
        "mail ops@example.org, path /a/b, keyframe_s=1.0 fps=5",
        "camera gate: no frame for 10 s (fault_after_s=10)",
    ],
)
def test_text_without_credentials_is_left_as_it_is(text: str) -> None:
    """Stream paths, empty password parameters and ordinary log text pass unchanged."""
    assert redact(text) == text


def test_source_errors_and_config_errors_hide_the_path_password() -> None:
    """The XMEye path form in a capture error and in a config error (a port out of range, a
    URL the pattern refuses): the password never shows, the problem and the key still do."""
    url = f"rtsp://10.0.0.6:99999/user=admin_password={S}_channel=1_stream=0.sdp"
    assert S not in str(SourceError(f"cannot open {url}"))
    base = '[node]\nid = "n"\nsite = "s"\n[[cameras]]\nname = "c"\n'
    for bad, expected in (
        (url, "cameras[0].detect.url: port 99999 is not a TCP port (1-65535)"),
        (url.replace("rtsp://", "rtsp://adm:Pw9 x@"), "cameras[0].detect.url: does not match"),
    ):
        with pytest.raises(ConfigError) as info:
            loads(base + f'detect = {{ kind = "rtsp", url = "{bad}" }}\n')
        assert len(info.value.problems) == 1
        assert info.value.problems[0].startswith(expected), info.value.problems
        assert S not in str(info.value) and "Pw9" not in str(info.value)
