using Akka.Configuration;

namespace Liminal.Actors.Tests.Channels;

/// <summary><c>liminal.channel-limits</c>: its documented defaults, its values, and invalid values named by key.</summary>
public sealed class ChannelLimitsSettingsTests
{
    [Fact]
    public void The_channel_limits_default_to_a_5_s_schema_read()
    {
        var settings = LiminalSettings.FromConfig(ConfigurationFactory.Empty);

        Assert.Equal(TimeSpan.FromSeconds(5), settings.ChannelSchemaLoadTimeout);
    }

    [Fact]
    public void The_channel_limits_are_read_from_the_liminal_block()
    {
        var settings = LiminalSettings.FromConfig(ConfigurationFactory.ParseString(
            "liminal.channel-limits { schema-load-timeout = 2s }"));

        Assert.Equal(TimeSpan.FromSeconds(2), settings.ChannelSchemaLoadTimeout);
    }

    [Fact]
    public void A_schema_load_timeout_that_is_not_positive_is_reported_with_its_key()
    {
        var error = Assert.Throws<LiminalConfigurationException>(() => LiminalSettings.FromConfig(ConfigurationFactory.ParseString(
            "liminal.channel-limits { schema-load-timeout = 0s }")));

        Assert.StartsWith("liminal.channel-limits.schema-load-timeout", Assert.Single(error.Problems));
    }
}
