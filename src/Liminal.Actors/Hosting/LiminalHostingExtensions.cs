using Akka.Actor;
using Akka.Hosting;

namespace Liminal.Actors.Hosting;

/// <summary>Registry key of <see cref="LiminalBus.Dedup"/>.</summary>
public sealed class LiminalDedup;

/// <summary>Registry key of <see cref="LiminalBus.Conversations"/>.</summary>
public sealed class LiminalConversations;

/// <summary>Registry key of <see cref="LiminalBus.Channels"/>.</summary>
public sealed class LiminalChannels;

/// <summary>Registry key of <see cref="LiminalBus.Offsets"/>.</summary>
public sealed class LiminalOffsets;

/// <summary>Akka.Hosting registration of the bus: one method per actor family and <see cref="WithLiminal"/> composing them.</summary>
public static class LiminalHostingExtensions
{
    /// <summary>
    /// Starts all four actor families and registers them in the <c>ActorRegistry</c>, with the settings read from the
    /// actor system's final configuration: HOCON added to the builder (before or after this call) over the shipped
    /// <c>liminal.conf</c>. <paramref name="adjust"/> sets what HOCON cannot carry (a test clock, resolved paths).
    /// </summary>
    /// <exception cref="LiminalConfigurationException">When the actor system starts with an invalid <c>liminal</c> block.</exception>
    public static AkkaConfigurationBuilder WithLiminal(this AkkaConfigurationBuilder builder, Func<LiminalSettings, LiminalSettings>? adjust = null)
    {
        LiminalSettings? read = null;
        LiminalSettings Settings(ActorSystem system) =>
            read ??= (adjust ?? (settings => settings))(LiminalSettings.FromConfig(system.Settings.Config));
        return builder
            .AddHocon(LiminalSettings.DefaultConfig, HoconAddMode.Append)
            .WithDedupShards(Settings)
            .WithConversations(Settings)
            .WithChannels(Settings)
            .WithOffsets(Settings);
    }

    public static AkkaConfigurationBuilder WithDedupShards(this AkkaConfigurationBuilder builder, LiminalSettings settings) =>
        builder.WithDedupShards(_ => settings);

    public static AkkaConfigurationBuilder WithConversations(this AkkaConfigurationBuilder builder, LiminalSettings settings) =>
        builder.WithConversations(_ => settings);

    /// <summary>Starts the channel registry (its partitions keep their own keys: it needs no dedup shards).</summary>
    public static AkkaConfigurationBuilder WithChannels(this AkkaConfigurationBuilder builder, LiminalSettings settings) =>
        builder.WithChannels(_ => settings);

    public static AkkaConfigurationBuilder WithOffsets(this AkkaConfigurationBuilder builder, LiminalSettings settings) =>
        builder.WithOffsets(_ => settings);

    private static AkkaConfigurationBuilder WithDedupShards(this AkkaConfigurationBuilder builder, Func<ActorSystem, LiminalSettings> settings) =>
        builder.WithActors((system, registry) => registry.Register<LiminalDedup>(LiminalBus.StartDedup(system, settings(system))));

    private static AkkaConfigurationBuilder WithConversations(this AkkaConfigurationBuilder builder, Func<ActorSystem, LiminalSettings> settings) =>
        builder.WithActors((system, registry) => registry.Register<LiminalConversations>(LiminalBus.StartConversations(system, settings(system))));

    private static AkkaConfigurationBuilder WithChannels(this AkkaConfigurationBuilder builder, Func<ActorSystem, LiminalSettings> settings) =>
        builder.WithActors((system, registry) => registry.Register<LiminalChannels>(LiminalBus.StartChannels(system, settings(system))));

    private static AkkaConfigurationBuilder WithOffsets(this AkkaConfigurationBuilder builder, Func<ActorSystem, LiminalSettings> settings) =>
        builder.WithActors((system, registry) => registry.Register<LiminalOffsets>(LiminalBus.StartOffsets(system, settings(system))));
}
