"""Everything the partner's pages say, in Finnish, Swedish and English: a plain dict (the
partner does not use the desk's gettext catalogues), and how times and dates are written."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("fi", "sv", "en")
HELSINKI = ZoneInfo("Europe/Helsinki")

# key: (fi, sv, en). Values are str.format templates; what fills them is escaped by Jinja.
WORDS: dict[str, tuple[str, str, str]] = {
    # The frame of every page
    "site": (
        "Asukkaan asiointi (testikumppani)",
        "Invånarens ärenden (testpartner)",
        "Resident services (test partner)",
    ),
    "demo_badge": (
        "Demo – ei tuotantokäyttöön",
        "Demo – inte för produktion",
        "Demo – not for production",
    ),
    "skip": ("Siirry sisältöön", "Hoppa till innehållet", "Skip to content"),
    "nav_label": ("Päävalikko", "Huvudmeny", "Main menu"),
    "nav_home": ("Etusivu", "Startsida", "Home"),
    "nav_chat": ("Chat", "Chatt", "Chat"),
    "nav_inbox": ("Viestit", "Meddelanden", "Messages"),
    "nav_omaolo": ("Oirearvio", "Symtombedömning", "Symptom assessment"),
    "nav_eform": ("Sähköinen lomake", "E-blankett", "E-form"),
    "nav_help": ("Pyydä apua", "Be om hjälp", "Ask for help"),
    "language_label": ("Kieli", "Språk", "Language"),
    "identity_label": ("Tunnistautuminen", "Identifiering", "Identification"),
    "signed_in_as": (
        "Tunnistautunut (testi): {name}",
        "Identifierad (test): {name}",
        "Identified (test): {name}",
    ),
    "not_signed_in": (
        "Et ole tunnistautunut.",
        "Du är inte identifierad.",
        "You are not identified.",
    ),
    "sign_in": ("Tunnistaudu", "Identifiera dig", "Identify yourself"),
    "sign_out": ("Kirjaudu ulos", "Logga ut", "Sign out"),
    "footer": (
        "Tämä on kehitys- ja testikäyttöön tarkoitettu kumppanijärjestelmä, ei osa "
        "tuotantoympäristöä. Kaikki henkilöt ovat keksittyjä.",
        "Detta är ett partnersystem för utveckling och test, inte en del av "
        "produktionsmiljön. Alla personer är påhittade.",
        "This is a partner system for development and testing, never part of production. "
        "All people are made up.",
    ),
    # Not registered in the desk
    "not_configured_heading": (
        "Kumppania ei ole rekisteröity työpöytään",
        "Partnern är inte registrerad i skrivbordet",
        "The partner is not registered in the desk",
    ),
    "not_configured_missing": (
        "Asetustiedostoa {path} ei ole.",
        "Inställningsfilen {path} finns inte.",
        "The settings file {path} does not exist.",
    ),
    "not_configured_unreadable": (
        "Asetustiedostoa {path} ei voi lukea (se ei ole JSON-muotoinen).",
        "Inställningsfilen {path} kan inte läsas (den är inte JSON).",
        "The settings file {path} cannot be read (it is not JSON).",
    ),
    "not_configured_incomplete": (
        "Asetustiedostosta {path} puuttuu desk_url, token tai secret.",
        "I inställningsfilen {path} saknas desk_url, token eller secret.",
        "The settings file {path} lacks desk_url, token or secret.",
    ),
    "register_howto": (
        "Rekisteröi kumppani ajamalla työpöydän hakemistossa:",
        "Registrera partnern genom att köra i skrivbordets katalog:",
        "Register the partner by running, in the desk's directory:",
    ),
    "register_file": (
        "Komento luo tunnuksen (kaikki kanavat) ja allekirjoitusavaimen ja kirjoittaa ne "
        "tiedostoon instance/partner.json (tai --output-valitsimen polkuun). Kumppani lukee "
        "tiedoston {path}, jonka muoto on:",
        "Kommandot skapar en token (alla kanaler) och en signeringsnyckel och skriver dem i "
        "filen instance/partner.json (eller i sökvägen som --output anger). Partnern läser "
        "filen {path}, som ser ut så här:",
        "The command makes a token (all channels) and a signing secret and writes them to "
        "instance/partner.json (or to the path given with --output). The partner reads the "
        "file {path}, which looks like this:",
    ),
    "register_endpoint": (
        "Työpöytä lähettää tapahtumansa osoitteeseen {url}.",
        "Skrivbordet skickar sina händelser till adressen {url}.",
        "The desk sends its events to {url}.",
    ),
    # Start page
    "index_heading": (
        "Sosiaali- ja terveyskeskuksen asiointi",
        "Social- och hälsocentralens e-tjänster",
        "Social and health centre services",
    ),
    "index_intro": (
        "Tämä sovellus esittää asukkaan puolta: se lähettää asioita työpöydälle ja näyttää "
        "ammattilaisten vastaukset.",
        "Denna app spelar invånarens roll: den skickar ärenden till skrivbordet och visar "
        "yrkespersonernas svar.",
        "This app plays the resident's side: it sends matters to the desk and shows the "
        "professionals' answers.",
    ),
    "choose_language": ("Valitse kieli", "Välj språk", "Choose a language"),
    "services_heading": ("Mitä haluat tehdä?", "Vad vill du göra?", "What would you like to do?"),
    "chat_desc": (
        "Keskustele ammattilaisen kanssa nimettömänä tai tunnistautuneena.",
        "Chatta med en yrkesperson anonymt eller identifierad.",
        "Talk to a professional anonymously or identified.",
    ),
    "omaolo_desc": (
        "Tee oirearvio (Omaolo).",
        "Gör en symtombedömning (Omaolo).",
        "Do a symptom assessment (Omaolo).",
    ),
    "eform_desc": (
        "Lähetä hakemus tai kysely.",
        "Skicka en ansökan eller ett frågeformulär.",
        "Send an application or a questionnaire.",
    ),
    "help_desc": (
        "Kerro, missä tarvitset apua, niin sinuun otetaan yhteyttä.",
        "Berätta vad du behöver hjälp med, så kontaktar vi dig.",
        "Tell us what you need help with and we will contact you.",
    ),
    "inbox_desc": (
        "Lue ammattilaisten viestit ja vastaa niihin (vaatii tunnistautumisen).",
        "Läs yrkespersonernas meddelanden och svara på dem (kräver identifiering).",
        "Read the professionals' messages and answer them (identification needed).",
    ),
    "my_matters_heading": (
        "Asiasi tässä istunnossa",
        "Dina ärenden under denna session",
        "Your matters in this session",
    ),
    # Signing in with a test identity
    "signin_heading": ("Tunnistaudu (testi)", "Identifiera dig (test)", "Identify yourself (test)"),
    "signin_intro": (
        "Oikeaa tunnistusta ei tehdä: valitse keksitty testihenkilö. Henkilötunnukset ovat "
        "testialueelta (yksilönumero 900–999).",
        "Ingen riktig identifiering görs: välj en påhittad testperson. Personbeteckningarna är "
        "från testområdet (individnummer 900–999).",
        "No real identification happens: choose a made-up test person. The personal identity "
        "codes are from the test range (individual number 900–999).",
    ),
    "signin_choose": ("Testihenkilö", "Testperson", "Test person"),
    "signed_in_flash": (
        "Olet tunnistautunut: {name}.",
        "Du är identifierad: {name}.",
        "You are identified: {name}.",
    ),
    "signed_out_flash": ("Olet kirjautunut ulos.", "Du har loggats ut.", "You have signed out."),
    "person": (
        "{name}, {pid}, {municipality}",
        "{name}, {pid}, {municipality}",
        "{name}, {pid}, {municipality}",
    ),
    # Starting a chat
    "chat_new_heading": ("Aloita chat", "Starta en chatt", "Start a chat"),
    "anonymous": ("Nimettömänä", "Anonymt", "Anonymously"),
    "identified_as": (
        "Tunnistautuneena: {name} ({pid})",
        "Identifierad: {name} ({pid})",
        "Identified: {name} ({pid})",
    ),
    "identify_first": (
        "Tunnistaudu ensin, jos haluat keskustella tunnistautuneena.",
        "Identifiera dig först om du vill chatta identifierad.",
        "Identify yourself first if you want to chat identified.",
    ),
    "chat_identify_hint": (
        "Tunnistautuminen on testi: valitse keksitty henkilö. Tunnistautuneena voit myöhemmin "
        "lukea ammattilaisten viestit kohdassa Viestit.",
        "Identifieringen är ett test: välj en påhittad person. Som identifierad kan du senare "
        "läsa yrkespersonernas meddelanden under Meddelanden.",
        "The identification is a test: choose a made-up person. Identified, you can later read "
        "the professionals' messages under Messages.",
    ),
    "municipality_when_identified": (
        "Kotikunta tarvitaan, kun olet tunnistautunut.",
        "Hemkommunen behövs när du är identifierad.",
        "The home municipality is needed when you are identified.",
    ),
    "municipality": ("Kotikunta", "Hemkommun", "Home municipality"),
    "municipality_none": ("En halua kertoa", "Vill inte uppge", "Rather not say"),
    "municipality_required": (
        "Valitse kotikunta.",
        "Välj hemkommun.",
        "Choose your home municipality.",
    ),
    "first_message": (
        "Mitä asiasi koskee?",
        "Vad gäller ditt ärende?",
        "What is your matter about?",
    ),
    "text_required": ("Kirjoita viesti.", "Skriv ett meddelande.", "Write a message."),
    "text_too_long": (
        "Viesti on liian pitkä (enintään 4000 merkkiä).",
        "Meddelandet är för långt (högst 4000 tecken).",
        "The message is too long (at most 4000 characters).",
    ),
    "bot_greeting": (
        "Hei! Olet sosiaali- ja terveyskeskuksen chatissa. Ammattilainen vastaa sinulle pian.",
        "Hej! Du är i social- och hälsocentralens chatt. En yrkesperson svarar dig snart.",
        "Hello! You are in the social and health centre's chat. A professional will answer "
        "you soon.",
    ),
    # The chat window
    "chat_heading": ("Chat", "Chatt", "Chat"),
    "chat_anonymous_note": (
        "Olet nimettömänä. Älä kerro henkilötunnustasi tai terveystietojasi.",
        "Du är anonym. Berätta inte din personbeteckning eller dina hälsouppgifter.",
        "You are anonymous. Do not give your personal identity code or health details.",
    ),
    "chat_identified_note": (
        "Olet tunnistautunut: {name}.",
        "Du är identifierad: {name}.",
        "You are identified: {name}.",
    ),
    "conversation": ("Keskustelu", "Samtal", "Conversation"),
    "you": ("Sinä", "Du", "You"),
    "bot": ("Chatbot", "Chattbot", "Chatbot"),
    "professional": ("Ammattilainen", "Yrkesperson", "Professional"),
    "your_message": ("Viestisi", "Ditt meddelande", "Your message"),
    "enter_hint": (
        "Enter lähettää, Vaihto+Enter aloittaa uuden rivin.",
        "Enter skickar, Skift+Enter ger en ny rad.",
        "Enter sends, Shift+Enter starts a new line.",
    ),
    "send": ("Lähetä", "Skicka", "Send"),
    "sending": ("Lähetetään…", "Skickar…", "Sending…"),
    "sent": ("Lähetetty.", "Skickat.", "Sent."),
    "chat_ended": ("Chat on päättynyt", "Chatten har avslutats", "The chat has ended"),
    "chat_ended_no_text": (
        "Ammattilainen päätti keskustelun.",
        "Yrkespersonen avslutade samtalet.",
        "The professional ended the conversation.",
    ),
    "chat_closed_refused": (
        "Chat on päättynyt: viestejä ei voi enää lähettää.",
        "Chatten har avslutats: du kan inte längre skicka meddelanden.",
        "The chat has ended: you can no longer send messages.",
    ),
    "chat_full": (
        "Keskustelussa on jo 500 viestiä. Aloita uusi chat.",
        "Samtalet har redan 500 meddelanden. Starta en ny chatt.",
        "The conversation already has 500 messages. Start a new chat.",
    ),
    "new_chat": ("Aloita uusi chat", "Starta en ny chatt", "Start a new chat"),
    "state_sent": (
        "Viestisi on välitetty. Odota hetki, ammattilainen vastaa pian.",
        "Ditt meddelande har förmedlats. Vänta en stund, en yrkesperson svarar snart.",
        "Your message has been passed on. Please wait; a professional will answer soon.",
    ),
    "state_new": ("Odotat vuoroasi.", "Du väntar på din tur.", "You are waiting for your turn."),
    "state_in_progress": (
        "Ammattilainen hoitaa asiaasi.",
        "En yrkesperson sköter ditt ärende.",
        "A professional is handling your matter.",
    ),
    "state_waiting": (
        "Ammattilainen odottaa vastaustasi.",
        "Yrkespersonen väntar på ditt svar.",
        "The professional is waiting for your answer.",
    ),
    "state_resolved": (
        "Asia on käsitelty.",
        "Ärendet är behandlat.",
        "The matter has been dealt with.",
    ),
    "state_failed": (
        "Viestiä ei saatu välitettyä: {reason}",
        "Meddelandet kunde inte förmedlas: {reason}",
        "The message could not be passed on: {reason}",
    ),
    "retry": ("Yritä uudelleen", "Försök igen", "Try again"),
    "not_delivered": ("ei vielä välitetty", "ännu inte förmedlat", "not passed on yet"),
    # Inbox
    "inbox_heading": ("Viestit", "Meddelanden", "Messages"),
    "inbox_sign_in": (
        "Ammattilaisten viestit näytetään vain tunnistautuneelle asukkaalle.",
        "Yrkespersonernas meddelanden visas bara för en identifierad invånare.",
        "The professionals' messages are shown only to an identified resident.",
    ),
    "inbox_empty": (
        "Sinulle ei ole viestejä.",
        "Du har inga meddelanden.",
        "You have no messages.",
    ),
    "inbox_with_messages": (
        "Asiat, joista on viestejä",
        "Ärenden med meddelanden",
        "Matters with messages",
    ),
    "inbox_other": ("Muut asiasi", "Dina andra ärenden", "Your other matters"),
    "unread": ("{count} lukematonta", "{count} olästa", "{count} unread"),
    "reply_by": ("Vastaa viimeistään {date}", "Svara senast {date}", "Answer by {date}"),
    "latest": ("Viimeisin: {kind}, {when}", "Senaste: {kind}, {when}", "Latest: {kind}, {when}"),
    "kind_message": ("Viesti", "Meddelande", "Message"),
    "kind_reply": ("Vastaus", "Svar", "Reply"),
    "kind_request-for-information": (
        "Täydennyspyyntö",
        "Begäran om komplettering",
        "Request for more information",
    ),
    # A matter
    "channel_chat": ("Chat", "Chatt", "Chat"),
    "channel_omaolo": ("Omaolo-oirearvio", "Omaolo-symtombedömning", "Omaolo assessment"),
    "channel_eform": ("Sähköinen lomake", "E-blankett", "E-form"),
    "channel_help-request": ("Pyydä apua", "Be om hjälp", "Ask for help"),
    "channel_callback": ("Takaisinsoitto", "Återuppringning", "Callback"),
    "channel": ("Kanava", "Kanal", "Channel"),
    "identifier": ("Tunniste", "Identifierare", "Identifier"),
    "matter_sent_at": ("Lähetetty", "Skickat", "Sent"),
    "untitled": ("(ei otsikkoa)", "(ingen rubrik)", "(no title)"),
    "desk_answer_heading": ("Työpöydän vastaus", "Skrivbordets svar", "The desk's answer"),
    "desk_answer_status": ("HTTP-tila", "HTTP-status", "HTTP status"),
    "desk_unreachable": (
        "Työpöytään ei saatu yhteyttä: {reason}",
        "Ingen kontakt med skrivbordet: {reason}",
        "Could not reach the desk: {reason}",
    ),
    "problems": ("Ongelmat", "Problem", "Problems"),
    "technical": ("Tekniset tiedot", "Tekniska uppgifter", "Technical details"),
    "state_heading": ("Käsittelyn tila", "Behandlingens status", "Processing state"),
    "state_status": ("Tila", "Status", "Status"),
    "state_item_status": ("Työn tila", "Arbetets status", "Work status"),
    "state_queue": ("Jono", "Kö", "Queue"),
    "state_due": ("Määräaika", "Tidsfrist", "Due"),
    "state_reason": ("Syy", "Orsak", "Reason"),
    "state_position": ("Sija jonossa", "Plats i kön", "Place in the queue"),
    "state_wait": ("Arvioitu odotus", "Uppskattad väntetid", "Estimated wait"),
    "minutes": ("{n} min", "{n} min", "{n} min"),
    "state_event": (
        "Viimeisin tieto työpöydältä {when}",
        "Senaste uppgift från skrivbordet {when}",
        "Latest word from the desk {when}",
    ),
    "state_unknown": (
        "Työpöytä ei tunne tätä asiaa.",
        "Skrivbordet känner inte till detta ärende.",
        "The desk does not know this matter.",
    ),
    "ps_pending": ("Odottaa käsittelyä", "Väntar på behandling", "Waiting to be processed"),
    "ps_routed": ("Ohjattu jonoon", "Styrt till en kö", "Routed to a queue"),
    "ps_rejected": ("Hylätty", "Avvisat", "Rejected"),
    "is_new": ("Uusi", "Ny", "New"),
    "is_in_progress": ("Käsittelyssä", "Under behandling", "In progress"),
    "is_waiting": ("Odottaa sinua", "Väntar på dig", "Waiting for you"),
    "is_resolved": ("Käsitelty", "Behandlat", "Resolved"),
    "refresh": ("Päivitä", "Uppdatera", "Refresh"),
    "messages_heading": ("Viestit", "Meddelanden", "Messages"),
    "no_messages": ("Ei viestejä vielä.", "Inga meddelanden ännu.", "No messages yet."),
    "answer_heading": ("Vastaa", "Svara", "Answer"),
    "answer_to": ("Vastaus viestiin", "Svar på meddelandet", "In reply to"),
    "answer_to_none": (
        "Uusi viesti (ei vastaus)",
        "Nytt meddelande (inget svar)",
        "A new message (no reply)",
    ),
    "your_answer": ("Vastauksesi", "Ditt svar", "Your answer"),
    "attachment": (
        "Liite (vain tiedoston nimi, tyyppi ja koko lähetetään)",
        "Bilaga (bara filens namn, typ och storlek skickas)",
        "Attachment (only the file's name, type and size are sent)",
    ),
    "attachments_label": ("Liitteet", "Bilagor", "Attachments"),
    "answer_sent": (
        "Vastauksesi on lähetetty.",
        "Ditt svar har skickats.",
        "Your answer has been sent.",
    ),
    "answer_failed": (
        "Vastausta ei saatu perille: {reason}",
        "Svaret kom inte fram: {reason}",
        "The answer did not get through: {reason}",
    ),
    "answer_needs_identity": (
        "Vain tunnistautunut asukas voi vastata viesteihin.",
        "Bara en identifierad invånare kan svara på meddelanden.",
        "Only an identified resident can answer messages.",
    ),
    "resend": ("Lähetä uudelleen", "Skicka igen", "Send again"),
    "open_chat": ("Avaa chat", "Öppna chatten", "Open the chat"),
    "delivery_pending": ("ei perillä", "inte framme", "not through"),
    "links": ("Linkit", "Länkar", "Links"),
    # Forms of the other channels
    "sending_as_identified": (
        "Lähetät tunnistautuneena: {name} ({pid}).",
        "Du skickar som identifierad: {name} ({pid}).",
        "You are sending identified: {name} ({pid}).",
    ),
    "sending_as_anonymous": (
        "Lähetät nimettömänä. Tunnistaudu, jos haluat saada viestejä asiastasi.",
        "Du skickar anonymt. Identifiera dig om du vill få meddelanden om ditt ärende.",
        "You are sending anonymously. Identify yourself if you want messages about your matter.",
    ),
    "omaolo_heading": (
        "Oirearvio (Omaolo)",
        "Symtombedömning (Omaolo)",
        "Symptom assessment (Omaolo)",
    ),
    "omaolo_code": ("Oire", "Symtom", "Symptom"),
    "code_respiratory-infection": (
        "Hengitystieinfektio",
        "Luftvägsinfektion",
        "Respiratory infection",
    ),
    "code_urinary-tract-infection": (
        "Virtsatieinfektio",
        "Urinvägsinfektion",
        "Urinary tract infection",
    ),
    "code_back-pain": ("Selkäkipu", "Ryggsmärta", "Back pain"),
    "code_skin-rash": ("Ihottuma", "Hudutslag", "Skin rash"),
    "urgency": ("Kiireellisyys", "Brådskandegrad", "Urgency"),
    "urgency_hint": (
        "P0 on kiireellisin, P8 vähiten kiireellinen.",
        "P0 är mest brådskande, P8 minst brådskande.",
        "P0 is the most urgent, P8 the least urgent.",
    ),
    "title_label": ("Otsikko", "Rubrik", "Title"),
    "title_hint": (
        "Jos jätät tyhjäksi, otsikoksi tulee oireen nimi.",
        "Om du lämnar den tom blir rubriken symtomets namn.",
        "If you leave it empty, the title is the symptom's name.",
    ),
    "recommendation": ("Suositus", "Rekommendation", "Recommendation"),
    "default_recommendation": (
        "Hoidon tarpeen arvio terveyskeskuksessa.",
        "Bedömning av vårdbehovet vid hälsocentralen.",
        "Assessment of the need for care at the health centre.",
    ),
    "symptoms_label": ("Oireiden kuvaus", "Beskrivning av symtomen", "Description of the symptoms"),
    "contact_request": (
        "Haluan, että minuun otetaan yhteyttä",
        "Jag vill bli kontaktad",
        "I want to be contacted",
    ),
    "eform_heading": ("Sähköinen lomake", "E-blankett", "E-form"),
    "form_type": ("Lomake", "Blankett", "Form"),
    "type_income-support": ("Toimeentulotuki", "Utkomststöd", "Income support"),
    "type_disability-services": ("Vammaispalvelut", "Handikappservice", "Disability services"),
    "type_social-care-need": (
        "Sosiaalihuollon palvelutarve",
        "Servicebehov inom socialvården",
        "Need for social care",
    ),
    "type_health-questionnaire": ("Terveyskysely", "Hälsoenkät", "Health questionnaire"),
    "type_other": ("Muu asia", "Annat ärende", "Other matter"),
    "fields_legend": ("Lomakkeen kysymykset", "Blankettens frågor", "The form's questions"),
    "field_question": ("Kysymys {n}", "Fråga {n}", "Question {n}"),
    "field_answer": ("Vastaus {n}", "Svar {n}", "Answer {n}"),
    "urgent": ("Asiani on kiireellinen", "Mitt ärende är brådskande", "My matter is urgent"),
    "help_heading": ("Pyydä apua", "Be om hjälp", "Ask for help"),
    "topic": ("Aihe", "Ämne", "Topic"),
    "message_label": ("Viesti", "Meddelande", "Message"),
    "contact_preference": (
        "Miten haluat, että sinuun otetaan yhteyttä?",
        "Hur vill du bli kontaktad?",
        "How would you like to be contacted?",
    ),
    "contact_phone": ("Puhelimitse", "Per telefon", "By phone"),
    "contact_email": ("Sähköpostilla", "Per e-post", "By e-mail"),
    "contact_message": ("Viestillä", "Med meddelande", "By message"),
    "contact_details": ("Yhteystietosi", "Dina kontaktuppgifter", "Your contact details"),
    "name": ("Nimi", "Namn", "Name"),
    "phone": ("Puhelinnumero (+358…)", "Telefonnummer (+358…)", "Phone number (+358…)"),
    "email": ("Sähköposti", "E-post", "E-mail"),
    "phone_invalid": (
        "Kirjoita puhelinnumero kansainvälisessä muodossa, esim. +358401234567.",
        "Skriv telefonnumret i internationell form, t.ex. +358401234567.",
        "Write the phone number in international form, e.g. +358401234567.",
    ),
    "email_invalid": (
        "Tarkista sähköpostiosoite.",
        "Kontrollera e-postadressen.",
        "Check the e-mail address.",
    ),
    "required": ("Tämä tieto tarvitaan.", "Denna uppgift behövs.", "This is required."),
    "errors_heading": ("Korjaa nämä:", "Rätta till dessa:", "Please correct these:"),
    "optional": ("(vapaaehtoinen)", "(frivilligt)", "(optional)"),
    "delivered_flash": ("Lähetetty työpöydälle.", "Skickat till skrivbordet.", "Sent to the desk."),
    "not_delivered_flash": (
        "Työpöytä ei ottanut asiaa vastaan. Katso vastaus alta.",
        "Skrivbordet tog inte emot ärendet. Se svaret nedan.",
        "The desk did not accept the matter. See its answer below.",
    ),
    # Errors
    "error_heading": ("Jotain meni vikaan", "Något gick fel", "Something went wrong"),
    "csrf_failed": (
        "Lomake on vanhentunut. Lataa sivu uudelleen ja yritä uudelleen.",
        "Formuläret har gått ut. Ladda om sidan och försök igen.",
        "The form has expired. Reload the page and try again.",
    ),
    "not_found": ("Sivua ei löydy.", "Sidan finns inte.", "The page does not exist."),
    "forbidden": (
        "Tämä asia ei näy sinulle.",
        "Detta ärende visas inte för dig.",
        "This matter is not shown to you.",
    ),
    "back_home": ("Etusivulle", "Till startsidan", "To the start page"),
}

MUNICIPALITY_NAMES: dict[str, tuple[str, str, str]] = {
    "porvoo": ("Porvoo", "Borgå", "Porvoo"),
    "loviisa": ("Loviisa", "Lovisa", "Loviisa"),
    "lapinjarvi": ("Lapinjärvi", "Lappträsk", "Lapinjärvi"),
    "sipoo": ("Sipoo", "Sibbo", "Sipoo"),
    "askola": ("Askola", "Askola", "Askola"),
    "myrskyla": ("Myrskylä", "Mörskom", "Myrskylä"),
    "pukkila": ("Pukkila", "Pukkila", "Pukkila"),
}

#: each language's own name, for the language choice
LANGUAGE_NAMES = {"fi": "Suomi", "sv": "Svenska", "en": "English"}


def word(language: str, key: str, **values) -> str:
    """The text of `key` in `language` (Finnish when the language is unknown), filled with
    `values`. An unknown key shows as itself, so that a missing word is seen, not hidden."""
    index = LANGUAGES.index(language) if language in LANGUAGES else 0
    found = WORDS.get(key)
    if found is None:
        return key
    return found[index].format(**values) if values else found[index]


def municipality_name(language: str, code: str | None) -> str:
    """A municipality's name in `language`; the code itself when unknown."""
    names = MUNICIPALITY_NAMES.get(code or "")
    if names is None:
        return code or ""
    return names[LANGUAGES.index(language) if language in LANGUAGES else 0]


def when(value: str | None) -> str:
    """An ISO 8601 moment as a person reads it in Helsinki: `7.12.2026 9.14`."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(HELSINKI)
    return f"{moment.day}.{moment.month}.{moment.year} {moment.hour}.{moment.minute:02d}"


def day(value: str | None) -> str:
    """An ISO 8601 date (or the date of a moment) as `15.12.2026`."""
    if not value:
        return ""
    try:
        found = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return f"{found.day}.{found.month}.{found.year}"
