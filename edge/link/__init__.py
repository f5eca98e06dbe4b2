"""The MQTT link to each destination: the paho client, TLS, acks and refusals, takeover,
packet limit, bandwidth, reconnects and the link's counters, and the factory that wires them."""
