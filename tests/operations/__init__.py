"""`dap ingest | run | status | query` against moto-backed AWS."""
