"""Domain errors rendered by the API as {"detail", "code"} with their HTTP status."""


class ApplicationError(Exception):
    """Base class of errors the API shows to clients; subclasses set ``code`` and ``status_code``."""

    code = "error"
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
