"""Adapters for the ports: AWS (boto3), HTTP (requests) and in-memory fakes."""
