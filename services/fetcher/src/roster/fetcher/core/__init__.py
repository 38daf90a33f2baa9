"""Pure logic of the fetcher: no network, Kafka, Redis, logging or clock in here."""
