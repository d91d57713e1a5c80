using Akka.Configuration;

namespace Liminal.Actors.Tests.Channels;

/// <summary><c>liminal.channel-limits</c>: its documented defaults, its values, and invalid values named by key.</summary>
public sealed class ChannelLimitsSettingsTests
{
    [Fact]
    public void The_channel_limits_default_to_10000_publishes_in_flight_and_a_5_s_schema_read()
    {
        var settings = LiminalSettings.FromConfig(ConfigurationFactory.Empty);

        Assert.Equal((10_000, TimeSpan.FromSeconds(5)), (settings.ChannelMaxPublishesInFlight, settings.ChannelSchemaLoadTimeout));
    }

    [Fact]
    public void The_channel_limits_are_read_from_the_liminal_block()
    {
        var settings = LiminalSettings.FromConfig(ConfigurationFactory.ParseString(
            "liminal.channel-limits { max-publishes-in-flight = 250, schema-load-timeout = 2s }"));

        Assert.Equal((250, TimeSpan.FromSeconds(2)), (settings.ChannelMaxPublishesInFlight, settings.ChannelSchemaLoadTimeout));
    }

    [Fact]
    public void Channel_limits_below_1_are_reported_with_their_keys()
    {
        var error = Assert.Throws<LiminalConfigurationException>(() => LiminalSettings.FromConfig(ConfigurationFactory.ParseString(
            "liminal.channel-limits { max-publishes-in-flight = 0, schema-load-timeout = 0s }")));

        Assert.Equal(2, error.Problems.Count);
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.channel-limits.max-publishes-in-flight"));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.channel-limits.schema-load-timeout"));
    }
}
