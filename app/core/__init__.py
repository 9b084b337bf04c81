"""What every part of the app shares: settings, schemas, errors, wire encoding, security."""
