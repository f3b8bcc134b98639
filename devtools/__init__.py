"""Development tools: local servers, the sample-data generator and the demo runner. Not deployed."""
