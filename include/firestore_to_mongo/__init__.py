"""Copy an app's Firestore data (users, digital twins, conversations, messages) into MongoDB."""
