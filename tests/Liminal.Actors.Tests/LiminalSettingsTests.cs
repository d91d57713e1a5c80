using Akka.Configuration;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Tests;

public sealed class LiminalSettingsTests
{
    [Fact]
    public void The_shipped_defaults_match_the_documented_ones()
    {
        var settings = LiminalSettings.FromConfig(ConfigurationFactory.Empty);

        Assert.Equal(TimeSpan.FromHours(24), settings.DedupTtl);
        Assert.Equal(8, settings.DedupShards);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.DedupSweepInterval);
        Assert.Equal("default", settings.DedupNamespace);
        Assert.Same(TimeProvider.System, settings.Clock);
        Assert.Empty(settings.Channels);
    }

    [Fact]
    public void New_settings_start_from_the_shipped_liminal_conf_not_from_values_of_their_own()
    {
        var overridden = new LiminalSettings { DedupShards = 3 };
        var shipped = LiminalSettings.FromConfig(ConfigurationFactory.Empty);

        Assert.Equal(3, overridden.DedupShards);
        Assert.Equal(shipped with { DedupShards = 3, Channels = overridden.Channels }, overridden);
        Assert.Equal(shipped with { Channels = LiminalSettings.Default.Channels }, LiminalSettings.Default);
    }

    [Fact]
    public void The_fallbacks_of_the_parts_used_alone_are_the_shipped_defaults()
    {
        var shipped = LiminalSettings.Default;

        Assert.Equal(Liminal.Actors.Validation.InputRules.DefaultMaxPayloadBytes, shipped.MaxPayloadBytes);
        Assert.Equal(PartitionSettings.DefaultMaxPublishesInFlight, shipped.ChannelMaxPublishesInFlight);
        Assert.Equal(ChannelSchema.DefaultLoadTimeout, shipped.ChannelSchemaLoadTimeout);
        Assert.Equal(Liminal.Actors.Entities.EntityParentSettings.Default, shipped.Entities);
    }

    [Fact]
    public void Values_are_read_from_the_liminal_block()
    {
        var settings = LiminalSettings.FromConfig(ConfigurationFactory.ParseString("""
            liminal {
              snapshot-every = 50
              dedup { namespace = orders, ttl = 2h, shards = 8, sweep-interval = 30s, max-keys-per-shard = 500 }
              channels = [
                { name = "orders", durable = true, schema = "schemas/order.json", partitions = 4 }
                { name = "pings" }
              ]
            }
            """));

        Assert.Equal(("orders", TimeSpan.FromHours(2), 8, TimeSpan.FromSeconds(30), 500, 50),
            (settings.DedupNamespace, settings.DedupTtl, settings.DedupShards, settings.DedupSweepInterval, settings.DedupMaxKeysPerShard, settings.SnapshotEvery));
        Assert.Equal([new ChannelDefinition("orders", true, "schemas/order.json", 4), new ChannelDefinition("pings", false)], settings.Channels);
    }

    [Fact]
    public void Every_invalid_value_is_reported_at_once_with_its_key()
    {
        var error = Assert.Throws<LiminalConfigurationException>(() => LiminalSettings.FromConfig(ConfigurationFactory.ParseString("""
            liminal {
              snapshot-every = 0
              dedup { ttl = 0s, shards = 0 }
              channels = [ { durable = true } ]
            }
            """)));

        Assert.Equal(4, error.Problems.Count);
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.dedup.ttl"));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.dedup.shards"));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.snapshot-every"));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.channels[0].name"));
    }
}

public sealed class LeaseAndRetentionSettingsTests
{
    [Fact]
    public void The_lease_and_retention_defaults_are_the_documented_ones_and_are_read_from_their_keys()
    {
        var defaults = LiminalSettings.FromConfig(ConfigurationFactory.Empty);
        Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromDays(7), TimeSpan.FromDays(7)),
            (defaults.ConversationLease, defaults.ConversationRetention, defaults.OffsetsRetention));

        var read = LiminalSettings.FromConfig(ConfigurationFactory.ParseString(
            "liminal { conversations { lease = 2m, retention = 3d }\n offsets.retention = 12h }"));
        Assert.Equal((TimeSpan.FromMinutes(2), TimeSpan.FromDays(3), TimeSpan.FromHours(12)),
            (read.ConversationLease, read.ConversationRetention, read.OffsetsRetention));
    }

    [Fact]
    public void A_lease_or_retention_that_is_not_positive_is_reported_with_its_key()
    {
        var error = Assert.Throws<LiminalConfigurationException>(() => LiminalSettings.FromConfig(ConfigurationFactory.ParseString(
            "liminal { conversations { lease = 0s, retention = -1d }\n offsets.retention = 0s }")));

        Assert.Equal(3, error.Problems.Count);
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.conversations.lease:"));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.conversations.retention:"));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.offsets.retention:"));
    }
}

/// <summary>A channel's retention limits in HOCON: read into its definition, and every bad value a problem named by its key.</summary>
public sealed class ChannelLimitsConfigurationTests
{
    private static LiminalSettings Read(string channels) =>
        LiminalSettings.FromConfig(ConfigurationFactory.ParseString($"liminal.channels = [ {channels} ]"));

    [Fact]
    public void A_channel_entry_with_max_age_and_max_messages_per_partition_gets_them_in_its_definition()
    {
        var settings = Read("""{ name = "orders", durable = true, max-age = 7d, max-messages-per-partition = 1000000 }, { name = "plain", durable = true }""");

        Assert.Equal((TimeSpan.FromDays(7), 1_000_000L), (settings.Channels[0].MaxAge, settings.Channels[0].MaxMessagesPerPartition));
        Assert.Equal((null, null), (settings.Channels[1].MaxAge, settings.Channels[1].MaxMessagesPerPartition));
    }

    [Theory]
    [InlineData("""{ name = "orders", durable = true, max-age = "soon" }""", "liminal.channels[0].max-age")]
    [InlineData("""{ name = "orders", durable = true, max-messages-per-partition = "many" }""", "liminal.channels[0].max-messages-per-partition")]
    public void A_limit_that_is_no_value_of_its_kind_is_a_problem_named_by_its_key(string channel, string key)
    {
        var error = Assert.Throws<LiminalConfigurationException>(() => Read(channel));

        Assert.Contains(error.Problems, p => p.StartsWith(key, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{ name = "orders", durable = true, max-age = 0s }""", "max-age")]
    [InlineData("""{ name = "orders", durable = true, max-messages-per-partition = 0 }""", "max-messages-per-partition")]
    [InlineData("""{ name = "pings", durable = false, max-messages-per-partition = 5 }""", "durable")]
    public void A_limit_below_1_or_on_an_ephemeral_channel_is_a_start_up_problem_naming_it(string channel, string named)
    {
        var (channels, problems) = LiminalBus.LoadChannels(Read(channel));

        Assert.Empty(channels);
        Assert.Contains(problems, p => p.StartsWith("liminal.channels[0]", StringComparison.Ordinal) && p.Contains(named, StringComparison.Ordinal));
    }
}
