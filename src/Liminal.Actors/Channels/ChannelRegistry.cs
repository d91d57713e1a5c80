using Akka.Actor;
using Akka.Event;
using Liminal.Actors.Entities;

namespace Liminal.Actors.Channels;

/// <summary>
/// The actor behind <c>LiminalBus.Channels</c>: knows every channel (from configuration at start-up and from
/// <see cref="CreateChannel"/>), routes publishes, subscriptions and replays to the channel's router, and answers
/// requests for unknown channels with a typed rejection. Channels created at run time are stored
/// (<see cref="ChannelDefinitions"/>) and started again after a restart, before any request is served.
/// </summary>
public sealed class ChannelRegistry : ReceiveActor, IWithStash
{
    /// <summary>
    /// Schema files being read at once, at most. A read that never ends (a FIFO nobody writes) holds a thread-pool
    /// thread after its <c>CreateChannel</c> was rejected; beyond this many, <c>CreateChannel</c> is rejected at once.
    /// </summary>
    public const int MaxSchemaReads = 8;

    private readonly PartitionSettings _partitionSettings;
    private readonly EntityParentSettings _parentSettings;
    private readonly Dictionary<string, IActorRef> _routers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ChannelDefinition> _definitionsByName = new(StringComparer.Ordinal);
    // Channels being created: who asked, and the schema once loaded (the channel starts once its definition is stored).
    private readonly Dictionary<string, (IActorRef ReplyTo, ChannelSchema? Schema)> _creating = new(StringComparer.Ordinal);
    private bool _draining;
    private readonly long _snapshotEvery;
    private IActorRef _definitions = ActorRefs.Nobody;
    private int _recoveringSchemas;
    private readonly TimeSpan _schemaLoadTimeout;
    // Schema reads started and not over (one rejected for its timeout may still be running).
    private int _schemaReads;

    public IStash Stash { get; set; } = null!;

    public ChannelRegistry(IReadOnlyList<(ChannelDefinition Definition, ChannelSchema Schema)> channels, PartitionSettings partitionSettings,
        EntityParentSettings parentSettings, TimeSpan? schemaLoadTimeout = null)
    {
        _schemaLoadTimeout = schemaLoadTimeout ?? ChannelSchema.DefaultLoadTimeout;
        _partitionSettings = partitionSettings;
        _parentSettings = parentSettings;
        _snapshotEvery = partitionSettings.SnapshotEvery;
        foreach (var (definition, schema) in channels)
            StartRouter(definition, schema);
        Recovering();
    }

    protected override void PreStart() => StartDefinitions();

    private void StartDefinitions()
    {
        _definitions = Context.ActorOf(ChannelDefinitions.Props(_snapshotEvery));
        Context.Watch(_definitions);
    }

    /// <summary>Until the channels created at run time are started again, every request waits.</summary>
    private void Recovering()
    {
        Receive<DefinitionsRecovered>(recovered =>
        {
            foreach (var definition in recovered.Definitions.Where(d => !_routers.ContainsKey(d.Name)))
            {
                _recoveringSchemas++;
                LoadSchema(definition);
            }
            BecomeReadyWhenRecovered();
        });
        Receive<SchemaReadOver>(_ => _schemaReads--);
        Receive<SchemaLoaded>(loaded =>
        {
            _recoveringSchemas--;
            if (loaded.Schema is null)
                Context.GetLogger().Error("Channel {0} created earlier cannot start: {1}", loaded.Definition.Name, loaded.Error);
            else
                StartRouter(loaded.Definition, loaded.Schema);
            BecomeReadyWhenRecovered();
        });
        Receive<Terminated>(terminated => terminated.ActorRef.Equals(_definitions), _ => StartDefinitions());
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>Nothing a message does restarts the registry: a restart would stop every channel's router and drop its subscribers.</summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception error)
        {
            RoutingFaults.Refuse(Context, Context.GetLogger(), error, message, Refusal);
            return true;
        }
    }

    private static object? Refusal(object message)
    {
        const string failed = "the channel registry failed while handling this request (logged); retry";
        return message switch
        {
            Publish publish => new PublishRejected(publish.Channel ?? string.Empty, PublishFailure.DeliveryFailed, failed),
            Subscribe subscribe => new ChannelRejected(subscribe.Channel ?? string.Empty, failed),
            Unsubscribe unsubscribe => new ChannelRejected(unsubscribe.Channel ?? string.Empty, failed),
            Replay replay => new ChannelRejected(replay.Channel ?? string.Empty, failed),
            SubscribeDurable subscribe => new ChannelRejected(subscribe.Channel ?? string.Empty, failed),
            GetConsumerInfo info => new ChannelRejected(info.Channel ?? string.Empty, failed),
            DeleteConsumer delete => new ChannelRejected(delete.Channel ?? string.Empty, failed),
            PurgeChannel purge => new ChannelRejected(purge.Channel ?? string.Empty, failed),
            IConsumerSettlement settlement => AckRejected.For(settlement, failed),
            RedriveDeadLetter redrive => new PublishRejected(redrive.DeadLetterChannel ?? string.Empty, PublishFailure.DeliveryFailed, failed),
            CreateChannel create => new ChannelRejected(create.Definition?.Name ?? string.Empty, failed),
            _ => null,
        };
    }

    private void BecomeReadyWhenRecovered()
    {
        if (_recoveringSchemas > 0)
            return;
        Become(Ready);
        Stash.UnstashAll();
    }

    private void Ready()
    {
        Receive<Publish>(publish => Route(publish.Channel, publish, () =>
        {
            var reason = _draining ? PublishFailure.ShuttingDown : PublishFailure.UnknownChannel;
            Metrics.LiminalMetrics.For(Context.System).PublishRejected(reason);
            return new PublishRejected(publish.Channel ?? string.Empty, reason,
                _draining ? "the bus is shutting down and takes no new publishes" : $"no channel named '{publish.Channel}'");
        }));
        Receive<Subscribe>(subscribe => Route(subscribe.Channel, subscribe, () => Unknown(subscribe.Channel)));
        Receive<Unsubscribe>(unsubscribe => Route(unsubscribe.Channel, unsubscribe, () => Unknown(unsubscribe.Channel)));
        Receive<Replay>(replay => Route(replay.Channel, replay, () => Unknown(replay.Channel)));
        Receive<SubscribeDurable>(OnSubscribeDurable);
        Receive<IConsumerSettlement>(settlement => Route(settlement.Channel, settlement, () => AckRejected.For(settlement, $"no channel named '{settlement.Channel}'")));
        Receive<GetConsumerInfo>(info => Route(info.Channel, info, () => Unknown(info.Channel)));
        Receive<DeleteConsumer>(delete => Route(delete.Channel, delete, () => Unknown(delete.Channel)));
        Receive<PurgeChannel>(purge => Route(purge.Channel, purge, () => Unknown(purge.Channel)));
        Receive<RedriveDeadLetter>(redrive => Route(redrive.DeadLetterChannel, redrive,
            () => new PublishRejected(redrive.DeadLetterChannel ?? string.Empty, PublishFailure.UnknownChannel, $"no channel named '{redrive.DeadLetterChannel}'")));
        Receive<CreateChannel>(OnCreate);
        Receive<DrainPublishes>(_ =>
        {
            _draining = true;
            var routers = _routers.Values.ToList();
            if (routers.Count == 0)
            {
                Sender.Tell(Drained.Instance);
                return;
            }
            var aggregator = Context.ActorOf(DrainAggregator.Props(Sender, routers.Count));
            foreach (var router in routers)
                router.Tell(DrainPublishes.Instance, aggregator);
        });
        Receive<GetChannels>(_ => Sender.Tell(new ChannelList(_routers.Keys.Order(StringComparer.Ordinal).ToArray())));
        Receive<SchemaLoaded>(OnSchemaLoaded);
        Receive<SchemaReadOver>(_ => _schemaReads--);
        Receive<DefinitionStored>(stored =>
        {
            _creating.Remove(stored.Definition.Name, out var creating);
            StartRouter(stored.Definition, creating.Schema!);
            creating.ReplyTo.Tell(new ChannelCreated(stored.Definition.Name));
        });
        Receive<DefinitionNotStored>(failed =>
        {
            _creating.Remove(failed.Definition.Name, out var creating);
            creating.ReplyTo.Tell(new ChannelRejected(failed.Definition.Name, "the channel definition could not be stored; retry"));
        });
        // The definitions store stops on a journal failure; it comes back by replay (already started channels stay).
        Receive<Terminated>(terminated => terminated.ActorRef.Equals(_definitions), _ => StartDefinitions());
        Receive<DefinitionsRecovered>(_ => { });
    }


    public static Props Props(IReadOnlyList<(ChannelDefinition Definition, ChannelSchema Schema)> channels, PartitionSettings partitionSettings,
        EntityParentSettings parentSettings, TimeSpan? schemaLoadTimeout = null) =>
        Akka.Actor.Props.Create(() => new ChannelRegistry(channels, partitionSettings, parentSettings, schemaLoadTimeout));

    private static ChannelRejected Unknown(string? channel) => new(channel ?? string.Empty, $"no channel named '{channel}'");

    private void Route(string? channel, object message, Func<object> unknown)
    {
        if (channel is not null && _routers.TryGetValue(channel, out var router))
            router.Forward(message);
        else
            Sender.Tell(unknown());
    }

    /// <summary>A consumer's dead-letter channel must exist, be durable, have one partition (a dead letter is found by its sequence number) and no schema.</summary>
    private void OnSubscribeDurable(SubscribeDurable subscribe)
    {
        if (subscribe.Options?.DeadLetterChannel is { } deadLetters && subscribe.Channel is not null && _routers.ContainsKey(subscribe.Channel))
        {
            var problem = !_definitionsByName.TryGetValue(deadLetters, out var definition) ? $"dead-letter channel '{deadLetters}' does not exist"
                : !definition.Durable || definition.Partitions != 1 ? $"dead-letter channel '{deadLetters}' must be durable with one partition"
                // A dead letter is Liminal's envelope around the original payload: no user schema can accept it.
                : definition.SchemaPath is not null ? $"dead-letter channel '{deadLetters}' must have no schema (a dead letter is an envelope around the original payload)"
                : deadLetters == subscribe.Channel ? "a consumer cannot dead-letter into the channel it consumes"
                : null;
            if (problem is not null)
            {
                Sender.Tell(new ChannelRejected(subscribe.Channel, problem));
                return;
            }
        }
        Route(subscribe.Channel, subscribe, () => Unknown(subscribe.Channel));
    }

    private void OnCreate(CreateChannel create)
    {
        var definition = create.Definition;
        var problems = Validation.RequestValidation.ChannelDefinitionProblems(definition).ToList();
        if (problems.Count == 0 && (_routers.ContainsKey(definition.Name) || _creating.ContainsKey(definition.Name)))
            problems.Add($"channel '{definition.Name}' already exists");
        if (problems.Count > 0)
        {
            Sender.Tell(new ChannelRejected(definition?.Name ?? string.Empty, string.Join("; ", problems)));
            return;
        }

        if (_schemaReads >= MaxSchemaReads)
        {
            Sender.Tell(new ChannelRejected(definition.Name,
                $"{_schemaReads} schema files are still being read (some may never answer); retry later"));
            return;
        }

        _creating[definition.Name] = (Sender, null);
        LoadSchema(definition);
    }

    /// <summary>
    /// Reads the schema file off this actor (opening a FIFO blocks until a writer comes, a hung mount for good): the
    /// registry keeps routing meanwhile and gets <see cref="SchemaLoaded"/> with the schema or an error by the timeout.
    /// </summary>
    private void LoadSchema(ChannelDefinition definition)
    {
        _schemaReads++;
        var (result, finished) = ChannelSchema.LoadWithin(definition, _schemaLoadTimeout);
        finished.ContinueWith(_ => SchemaReadOver.Instance, TaskScheduler.Default).PipeTo(Self);
        result.PipeTo(Self, success: loaded => new SchemaLoaded(definition, loaded.Schema, loaded.Error));
    }

    private void OnSchemaLoaded(SchemaLoaded loaded)
    {
        var name = loaded.Definition.Name;
        var replyTo = _creating[name].ReplyTo;
        if (loaded.Schema is null)
        {
            _creating.Remove(name);
            replyTo.Tell(new ChannelRejected(name, loaded.Error ?? "schema could not be loaded"));
            return;
        }
        // Started only once stored, so a channel that was announced as created exists after a restart too.
        _creating[name] = (replyTo, loaded.Schema);
        _definitions.Tell(new StoreDefinition(loaded.Definition));
    }

    /// <summary>Starts a channel's router, and for a durable channel its dead-letter channel's (SPEC §2.6: durable, one partition, no schema).</summary>
    private void StartRouter(ChannelDefinition definition, ChannelSchema schema)
    {
        StartRouter(definition, schema, _partitionSettings);
        var deadLetters = Consumers.DeadLetters.DefinitionFor(definition.Name);
        if (definition.Durable && !Consumers.DeadLetters.IsDeadLetterChannel(definition.Name) && !_routers.ContainsKey(deadLetters.Name))
            StartRouter(deadLetters, ChannelSchema.AnyJson,
                _partitionSettings with { MaxPayloadBytes = _partitionSettings.MaxPayloadBytes + Consumers.DeadLetters.EnvelopeAllowance });
    }

    private void StartRouter(ChannelDefinition definition, ChannelSchema schema, PartitionSettings settings)
    {
        _definitionsByName[definition.Name] = definition;
        _routers[definition.Name] = Context.ActorOf(
            ChannelRouter.Props(definition, schema, settings, _parentSettings), Uri.EscapeDataString(definition.Name));
    }

    private sealed record SchemaLoaded(ChannelDefinition Definition, ChannelSchema? Schema, string? Error)
        : INoSerializationVerificationNeeded;

    private sealed class SchemaReadOver : INoSerializationVerificationNeeded
    {
        public static readonly SchemaReadOver Instance = new();
    }
}
