"""dramatiq actors. Set the broker up first (``actors.broker.setup_broker``), then import
``actors.delivery``: ``@actor`` binds to the broker that is global when the module is imported.
"""
