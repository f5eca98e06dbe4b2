"""The demo, and the local broker and CA that the demo and the test suite share."""
