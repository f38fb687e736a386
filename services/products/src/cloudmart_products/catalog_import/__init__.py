"""The S3-triggered catalog import (AWS Lambda), and its local stand-in: a poller on SQS."""
