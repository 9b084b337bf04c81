"""Presenter rooms: the room, its in-process and Redis hubs, their codes and tokens."""
