"""Camera inputs (file, RTSP, V4L2, picamera2, Jetson) and privacy masking where frames are born."""
