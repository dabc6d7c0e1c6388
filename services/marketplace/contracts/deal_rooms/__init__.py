"""Deal rooms: the parties and their invited brokers negotiate with messages and structured offers."""
