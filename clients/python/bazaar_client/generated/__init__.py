"""Messages, stubs and servicer bases compiled from proto/ by scripts/gen-clients.sh.

Do not edit: regenerate. `bazaar_client.generated.bazaar.<service>.v1.<service>_pb2` holds
the messages of `bazaar.<service>.v1`, `..._pb2_grpc` its `<Service>Stub` and servicer base.
"""
