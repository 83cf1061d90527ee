"""streamforge_utils: what every StreamForge service needs.

from streamforge_utils import Service, kafka_consumer, kafka_producer, run_service
"""

from .kafka import KafkaStartupError, client_options, kafka_consumer, kafka_producer, ssl_context
from .logs import JsonFormatter, configure_logging
from .service import Service, run_service, serve
from .settings import Settings, SettingsError

__all__ = [
    "JsonFormatter",
    "KafkaStartupError",
    "Service",
    "Settings",
    "SettingsError",
    "client_options",
    "configure_logging",
    "kafka_consumer",
    "kafka_producer",
    "run_service",
    "serve",
    "ssl_context",
]
__version__ = "0.1.0"
