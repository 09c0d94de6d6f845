"""Application services: what each handler does, composed from pure logic and injected adapters."""
