"""Technology brokers (技术经纪人): certified profiles and their public record."""
