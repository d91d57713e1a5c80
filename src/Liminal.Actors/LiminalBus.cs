using Akka;
using Akka.Actor;
using Akka.Event;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Persistence;

namespace Liminal.Actors;

/// <summary>
/// The entry point: starts the bus's actors on an actor system. Static members of <see cref="LiminalBus"/> (which lives in
/// Liminal.Contracts, so that a remote client needs none of this), called as <c>LiminalBus.Start(system, settings)</c>.
/// </summary>
public static class LiminalBusStartup
{
    extension(LiminalBus)
    {
        /// <summary>The bus that <c>WithLiminal</c> registered in the Akka.Hosting <c>ActorRegistry</c>.</summary>
        public static LiminalBus FromRegistry(Akka.Hosting.ActorRegistry registry) =>
            LiminalBus.Of(registry.Get<Hosting.LiminalDedup>(),
                registry.Get<Hosting.LiminalConversations>(),
                registry.Get<Hosting.LiminalChannels>(),
                registry.Get<Hosting.LiminalOffsets>());

        /// <summary>
        /// Starts the bus on whatever journal the actor system is configured with (SQLite, PostgreSQL, or in
        /// unit tests, in memory).
        /// </summary>
        public static LiminalBus Start(ActorSystem system, LiminalSettings settings)
        {
            var dedup = LiminalBus.StartDedup(system, settings);
            return LiminalBus.Of(dedup, LiminalBus.StartConversations(system, settings), LiminalBus.StartChannels(system, settings), LiminalBus.StartOffsets(system, settings));
        }

        /// <summary>
        /// Starts the channel registry with the configured channels (what <c>WithChannels</c> registers). Every
        /// configured channel is checked first, its schema file loaded; all problems are reported at once.
        /// </summary>
        public static IActorRef StartChannels(ActorSystem system, LiminalSettings settings)
        {
            EnsureReady(system, settings);
            var (channels, problems) = LiminalBus.LoadChannels(settings);
            if (problems.Count > 0)
                throw new LiminalConfigurationException(problems);
            var registry = system.ActorOf(ChannelRegistry.Props(channels, settings.Partition, settings.Entities, settings.ChannelSchemaLoadTimeout), LiminalActorNames.Channels);
            DrainOnShutdown(system, registry, settings.DrainTimeout);
            return registry;
        }

        /// <summary>Starts the dedup key space alone (what <c>WithDedupShards</c> registers).</summary>
        public static IActorRef StartDedup(ActorSystem system, LiminalSettings settings)
        {
            EnsureReady(system, settings);
            return system.ActorOf(
                DedupKeySpace.Props(settings.DedupShard, settings.DedupShards, settings.Entities),
                LiminalActorNames.Dedup(settings.DedupNamespace));
        }

        /// <summary>Starts the conversation region alone (what <c>WithConversations</c> registers).</summary>
        public static IActorRef StartConversations(ActorSystem system, LiminalSettings settings)
        {
            EnsureReady(system, settings);
            return system.ActorOf(ConversationRegion.Props(settings.Conversation, settings.Entities), LiminalActorNames.Conversations);
        }

        /// <summary>Starts the consumer offsets region alone (what <c>WithOffsets</c> registers).</summary>
        public static IActorRef StartOffsets(ActorSystem system, LiminalSettings settings)
        {
            EnsureReady(system, settings);
            return system.ActorOf(
                OffsetsRegion.Props(settings.Offsets, settings.Entities),
                LiminalActorNames.Offsets);
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
