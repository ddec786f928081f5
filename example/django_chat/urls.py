"""The page is Django's; /socket.io/ is answered by socketio_gevent around it."""
import os

from django.http import FileResponse
from django.urls import path

PAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static", "chat.html")


def index(request):
    response = FileResponse(open(PAGE, "rb"), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


urlpatterns = [path("", index)]
