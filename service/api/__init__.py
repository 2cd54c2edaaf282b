"""The Workload Security REST API for what reportd does: FastAPI routers, thin over services.

``create_app(settings)`` builds the application; ``reportd api`` serves it with uvicorn.
"""
