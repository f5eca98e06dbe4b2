"""Person detectors behind one interface: ONNX (onnxruntime) and ultralytics; box filters."""
