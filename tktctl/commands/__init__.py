"""Typer wiring, one module per noun: parse, call one service method, render."""
