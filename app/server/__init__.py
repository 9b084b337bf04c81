"""What the server bounds below the routes: connections, protocols, heavy work."""
