"""Every AWS call, behind small classes that take their boto3 client, so tests and the local
engine can hand in moto-backed or fake ones. ClientError becomes a domain error here."""
