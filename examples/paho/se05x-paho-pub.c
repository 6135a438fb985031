/* se05x-paho-pub: publishes one message over MQTTS with Eclipse Paho MQTT C
 * (libpaho-mqtt3cs). The client private key file given by --key is normally
 * an `SE05X KEY REFERENCE` PEM (written by `openssl pkey -in se05x:0xID`);
 * Paho hands it to libssl (SSL_CTX_use_PrivateKey_file), whose decoders from
 * the se05x provider (loaded through OPENSSL_CONF) turn it into the key in the
 * SE, so every TLS signature happens inside the secure element. Nothing here
 * is SE-specific: the same program works with a software key. */
#include <MQTTClient.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pub_opts {
    const char *host, *cafile, *cert, *key, *topic, *message, *client_id;
    long port;
    int qos;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: se05x-paho-pub --host H --port P --cafile CA.pem --cert CERT.pem --key KEY.pem\n"
               "                      --topic T --message M [--client-id ID] [--qos 0|1|2]\n"
               "Publishes one message over MQTTS (mutual TLS). KEY.pem may be an SE05X KEY\n"
               "REFERENCE PEM; set OPENSSL_CONF (and OPENSSL_MODULES) so libssl loads the se05x\n"
               "provider. Exit: 0 published, 1 failure, 2 usage.\n");
}

static int parse_args(int argc, char **argv, struct pub_opts *o)
{
    static const struct option lo[] = {
        {"host", required_argument, NULL, 'h'},    {"port", required_argument, NULL, 'p'},
        {"cafile", required_argument, NULL, 'a'},  {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},     {"topic", required_argument, NULL, 't'},
        {"message", required_argument, NULL, 'm'}, {"client-id", required_argument, NULL, 'i'},
        {"qos", required_argument, NULL, 'q'},     {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'h': o->host = optarg; break;
        case 'p':
            o->port = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || o->port < 1 || o->port > 65535) {
                fprintf(stderr, "se05x-paho-pub: invalid port '%s'\n", optarg);
                return 2;
            }
            break;
        case 'a': o->cafile = optarg; break;
        case 'c': o->cert = optarg; break;
        case 'k': o->key = optarg; break;
        case 't': o->topic = optarg; break;
        case 'm': o->message = optarg; break;
        case 'i': o->client_id = optarg; break;
        case 'q':
            if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '2') {
                fprintf(stderr, "se05x-paho-pub: invalid qos '%s'\n", optarg);
                return 2;
            }
            o->qos = optarg[0] - '0';
            break;
        case 'H': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !o->host || !o->port || !o->cafile || !o->cert || !o->key || !o->topic ||
        !o->message) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static int ssl_error(const char *str, size_t len, void *u)
{
    (void)u;
    fprintf(stderr, "se05x-paho-pub: TLS: %.*s\n", (int)len, str);
    return 0;
}

static int publish(MQTTClient cl, const struct pub_opts *o)
{
    MQTTClient_message msg = MQTTClient_message_initializer;
    MQTTClient_deliveryToken tok;
    msg.payload = (void *)o->message;
    msg.payloadlen = (int)strlen(o->message);
    msg.qos = o->qos;
    int rc = MQTTClient_publishMessage(cl, o->topic, &msg, &tok);
    if (rc == MQTTCLIENT_SUCCESS)
        rc = MQTTClient_waitForCompletion(cl, tok, 10000);
    if (rc != MQTTCLIENT_SUCCESS) {
        fprintf(stderr, "se05x-paho-pub: publish failed: %s\n", MQTTClient_strerror(rc));
        return 1;
    }
    return 0;
}

static int run(const struct pub_opts *o)
{
    char uri[512];
    MQTTClient cl;
    MQTTClient_connectOptions co = MQTTClient_connectOptions_initializer;
    MQTTClient_SSLOptions so = MQTTClient_SSLOptions_initializer;

    snprintf(uri, sizeof uri, "ssl://%s:%ld", o->host, o->port);
    int rc = MQTTClient_create(&cl, uri, o->client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL);
    if (rc != MQTTCLIENT_SUCCESS) {
        fprintf(stderr, "se05x-paho-pub: cannot create client: %s\n", MQTTClient_strerror(rc));
        return 1;
    }
    so.trustStore = o->cafile;
    so.keyStore = o->cert;
    so.privateKey = o->key;
    so.enableServerCertAuth = 1;
    so.verify = 1;
    so.ssl_error_cb = ssl_error;
    co.ssl = &so;
    co.cleansession = 1;
    co.keepAliveInterval = 20;
    co.connectTimeout = 10;
    rc = MQTTClient_connect(cl, &co);
    if (rc != MQTTCLIENT_SUCCESS) {
        fprintf(stderr, "se05x-paho-pub: cannot connect to %s: %s (rc %d)\n", uri,
                MQTTClient_strerror(rc), rc);
        MQTTClient_destroy(&cl);
        return 1;
    }
    rc = publish(cl, o);
    if (rc == 0)
        printf("se05x-paho-pub: published %zu bytes to '%s' on %s\n", strlen(o->message), o->topic,
               uri);
    MQTTClient_disconnect(cl, 5000);
    MQTTClient_destroy(&cl);
    return rc;
}

int main(int argc, char **argv)
{
    struct pub_opts o = {.client_id = "se05x-paho-pub", .qos = 1};
    int rc = parse_args(argc, argv, &o);
    return rc ? rc : run(&o);
}
