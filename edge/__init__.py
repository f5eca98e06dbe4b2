"""warehouse-edge: an edge security node for election-logistics warehouses."""

__version__ = "0.1.0"
