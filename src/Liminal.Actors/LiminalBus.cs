using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Persistence;

namespace Liminal.Actors;

/// <summary>The entry point: starts the bus's actors on an actor system and hands out their refs.</summary>
public sealed class LiminalBus
{
    private LiminalBus(IActorRef dedup, IActorRef conversations, IActorRef channels, IActorRef offsets)
    {
        Dedup = dedup;
        Conversations = conversations;
        Channels = channels;
        Offsets = offsets;
    }

    /// <summary>Idempotency keys (<see cref="Liminal.Actors.Dedup"/>).</summary>
    public IActorRef Dedup { get; }

    /// <summary>Durable conversations.</summary>
    public IActorRef Conversations { get; }

    /// <summary>Channel registry, publish, subscribe, replay.</summary>
    public IActorRef Channels { get; }

    /// <summary>Consumer offsets and processing receipts.</summary>
    public IActorRef Offsets { get; }

    /// <summary>The bus that <c>WithLiminal</c> registered in the Akka.Hosting <c>ActorRegistry</c>.</summary>
    public static LiminalBus FromRegistry(Akka.Hosting.ActorRegistry registry) =>
        new(registry.Get<Hosting.LiminalDedup>(),
            registry.Get<Hosting.LiminalConversations>(),
            registry.Get<Hosting.LiminalChannels>(),
            registry.Get<Hosting.LiminalOffsets>());

    /// <summary>
    /// Starts the bus on whatever journal the actor system is configured with (SQLite, PostgreSQL, or in
    /// unit tests, in memory).
    /// </summary>
    public static LiminalBus Start(ActorSystem system, LiminalSettings settings) =>
        new(StartDedup(system, settings),
            StartConversations(system, settings),
            StartUnavailable(system, "channels"),
            StartOffsets(system, settings));

    /// <summary>Starts the dedup key space alone (what <c>WithDedupShards</c> registers).</summary>
    public static IActorRef StartDedup(ActorSystem system, LiminalSettings settings)
    {
        EnsureReady(system, settings);
        return system.ActorOf(
            DedupKeySpace.Props(settings.DedupShard, settings.DedupShards, settings.Entities),
            $"liminal-dedup-{settings.DedupNamespace}");
    }

    /// <summary>Starts the conversation region alone (what <c>WithConversations</c> registers).</summary>
    public static IActorRef StartConversations(ActorSystem system, LiminalSettings settings)
    {
        EnsureReady(system, settings);
        return system.ActorOf(ConversationRegion.Props(settings.Conversation, settings.Entities), "liminal-conversations");
    }

    /// <summary>Starts the consumer offsets region alone (what <c>WithOffsets</c> registers).</summary>
    public static IActorRef StartOffsets(ActorSystem system, LiminalSettings settings)
    {
        EnsureReady(system, settings);
        return system.ActorOf(
            OffsetsRegion.Props(settings.SnapshotEvery, settings.OffsetsIdleTimeout, settings.Entities, settings.Clock),
            "liminal-offsets");
    }

    private static void EnsureReady(ActorSystem system, LiminalSettings settings)
    {
        var problems = settings.Validate();
        if (problems.Count > 0)
            throw new LiminalConfigurationException(problems);
        LiminalEventSerializer.EnsureBound(system);
    }

    internal static IActorRef StartUnavailable(ActorSystem system, string capability) =>
        system.ActorOf(UnavailableCapability.Props(capability), $"liminal-{capability}");
}
