"""The Kubernetes API over HTTPS, so the real kubectl and client libraries can drive the
embedded cluster (`redisha serve`).

Server side:
- `server`: the aiohttp app and `APIHTTPServer` — routing, bearer-token check, Status errors.
- `rest`: the REST endpoints of every kind (list, get, create, update, patch, delete,
  watch streams, status/scale/binding subresources).
- `statuses`: `Status` bodies and JSON replies in kube-apiserver's wording.
- `discovery`, `openapi`: the discovery and OpenAPI v3 documents clients read first.
- `media`: Accept headers ranked, for discovery and tables to choose their answer.
- `tables`: server-side `meta.k8s.io/v1` Tables for `kubectl get`.
- `protobuf`, `protobuf_schema`: decoding the protobuf bodies kubectl sends for some
  creates, and the field tables of the kinds it decodes.
- `podstreams`: `pods/log` streams and `pods/exec` over WebSocket.
- `remotecommand`: the exec protocol both sides share (channels, subprotocols, exit codes).
- `query`: query parameters converted as kube-apiserver does, for every endpoint.
- `security`: the self-signed certificate, the token, the kubeconfig, the listen check.

Client side:
- `client`, `kubeconfig`: `HTTPClient`, the `cluster.client.Client` over this API.
"""
