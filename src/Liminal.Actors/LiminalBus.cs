using Akka;
using Akka.Actor;
using Akka.Event;
using Liminal.Actors.Channels;
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

    /// <summary>A bus made of refs found elsewhere, e.g. a remote host's actors (see Liminal.Client).</summary>
    public static LiminalBus Of(IActorRef dedup, IActorRef conversations, IActorRef channels, IActorRef offsets) =>
        new(dedup, conversations, channels, offsets);

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
    public static LiminalBus Start(ActorSystem system, LiminalSettings settings)
    {
        var dedup = StartDedup(system, settings);
        return new LiminalBus(dedup, StartConversations(system, settings), StartChannels(system, settings), StartOffsets(system, settings));
    }

    /// <summary>
    /// On shutdown (CoordinatedShutdown, e.g. SIGTERM), stops taking publishes and lets those in flight finish
    /// within <c>drain-timeout</c> before the actors stop, so nothing acknowledged is lost.
    /// </summary>
    private static void DrainOnShutdown(ActorSystem system, IActorRef channels, TimeSpan drainTimeout)
    {
        // The phase's own timeout bounds the drain: configure it above drain-timeout (liminal.conf does for the default).
        var phaseTimeout = system.Settings.Config.GetTimeSpan("akka.coordinated-shutdown.phases.service-unbind.timeout", TimeSpan.FromSeconds(5));
        if (drainTimeout >= phaseTimeout)
        {
            system.Log.Warning("liminal.drain-timeout {0} is not below the service-unbind phase timeout {1}; draining for {2}",
                drainTimeout, phaseTimeout, phaseTimeout - TimeSpan.FromMilliseconds(500));
            drainTimeout = phaseTimeout - TimeSpan.FromMilliseconds(500);
        }
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceUnbind, "liminal-drain-publishes", async () =>
        {
            try
            {
                await channels.Ask<Drained>(DrainPublishes.Instance, drainTimeout);
            }
            catch (AskTimeoutException)
            {
                system.Log.Warning("Publishes still in flight after the drain timeout of {0}; stopping anyway", drainTimeout);
            }
            return Done.Instance;
        });
    }

    /// <summary>
    /// Starts the channel registry with the configured channels (what <c>WithChannels</c> registers). Every
    /// configured channel is checked first, its schema file loaded; all problems are reported at once.
    /// </summary>
    public static IActorRef StartChannels(ActorSystem system, LiminalSettings settings)
    {
        EnsureReady(system, settings);
        var (channels, problems) = LoadChannels(settings);
        if (problems.Count > 0)
            throw new LiminalConfigurationException(problems);
        var registry = system.ActorOf(ChannelRegistry.Props(channels, settings.Partition, settings.Entities, settings.ChannelSchemaLoadTimeout), "liminal-channels");
        DrainOnShutdown(system, registry, settings.DrainTimeout);
        return registry;
    }

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
            OffsetsRegion.Props(settings.Offsets, settings.Entities),
            "liminal-offsets");
    }

    /// <summary>The configured channels with their loaded schemas, and every problem with them (names, duplicates, schema files).</summary>
    public static (IReadOnlyList<(ChannelDefinition Definition, ChannelSchema Schema)> Channels, IReadOnlyList<string> Problems) LoadChannels(
        LiminalSettings settings)
    {
        var problems = new List<string>();
        var channels = new List<(ChannelDefinition, ChannelSchema)>();
        foreach (var (definition, index) in settings.Channels.Select((d, i) => (d, i)))
        {
            var definitionProblems = Validation.RequestValidation.ChannelDefinitionProblems(definition).ToList();
            if (channels.Any(c => c.Item1.Name == definition.Name))
                definitionProblems.Add($"channel '{definition.Name}' is defined twice");
            var (schema, error) = ChannelSchema.LoadWithin(definition, settings.ChannelSchemaLoadTimeout).Result.GetAwaiter().GetResult();
            if (error is not null)
                definitionProblems.Add(error);
            problems.AddRange(definitionProblems.Select(p => $"liminal.channels[{index}]: {p}"));
            if (definitionProblems.Count == 0)
                channels.Add((definition, schema!));
        }
        return (channels, problems);
    }

    private static void EnsureReady(ActorSystem system, LiminalSettings settings)
    {
        var problems = settings.Validate().ToList();
        if (Validation.WireFrame.Problem(system, settings.MaxPayloadBytes) is { } frameProblem)
            problems.Add(frameProblem);
        if (problems.Count > 0)
            throw new LiminalConfigurationException(problems);
        LiminalEventSerializer.EnsureBound(system);
    }
}
