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
    /// <summary>Starts all four actor families and registers them in the <c>ActorRegistry</c>.</summary>
    public static AkkaConfigurationBuilder WithLiminal(this AkkaConfigurationBuilder builder, LiminalSettings settings) =>
        builder
            .AddHocon(LiminalSettings.DefaultConfig, HoconAddMode.Append)
            .WithDedupShards(settings)
            .WithConversations(settings)
            .WithChannels(settings)
            .WithOffsets(settings);

    public static AkkaConfigurationBuilder WithDedupShards(this AkkaConfigurationBuilder builder, LiminalSettings settings) =>
        builder.WithActors((system, registry) => registry.Register<LiminalDedup>(LiminalBus.StartDedup(system, settings)));

    public static AkkaConfigurationBuilder WithConversations(this AkkaConfigurationBuilder builder, LiminalSettings settings) =>
        builder.WithActors((system, registry) =>
            registry.Register<LiminalConversations>(LiminalBus.StartConversations(system, settings)));

    /// <summary>Starts the channel registry (its partitions keep their own keys: it needs no dedup shards).</summary>
    public static AkkaConfigurationBuilder WithChannels(this AkkaConfigurationBuilder builder, LiminalSettings settings) =>
        builder.WithActors((system, registry) =>
            registry.Register<LiminalChannels>(LiminalBus.StartChannels(system, settings)));

    public static AkkaConfigurationBuilder WithOffsets(this AkkaConfigurationBuilder builder, LiminalSettings settings) =>
        builder.WithActors((system, registry) =>
            registry.Register<LiminalOffsets>(LiminalBus.StartOffsets(system, settings)));
}
