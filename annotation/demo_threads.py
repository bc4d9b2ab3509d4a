"""The demo corpus: invented AskDocs-style threads written for this project (no real forum content)."""

from typing import Any

# Each thread: a post, then doctor turns; each turn has one comment with its questions and the patient's reply.
# Question tuples: (question, question_type, hypotheses, binary).
DEMO_THREADS: list[dict[str, Any]] = [
    {
        "post_id": "d0a1x1", "author": "sleepless_in_leeds", "year": 2021,
        "title": "Chest feels tight when I climb stairs, 52M",
        "post": "52M, slightly overweight, smoker for 20 years (trying to quit). For the last three weeks I get a "
                "tight feeling in the middle of my chest when I walk up the two flights of stairs to my office. It "
                "goes away after I sit for a few minutes. No pain at rest. My dad had a heart attack at 60. Is this "
                "something I should worry about or is it just being unfit?",
        "diagnosis": "Stable angina", "flair": "Physician",
        "conclusion": "Exertional chest tightness relieved by rest in a smoker with a family history needs a prompt "
                      "cardiac assessment; see your GP this week and call emergency services if it happens at rest.",
        "turns": [
            ("Does the tightness spread to your arm, jaw or back, and do you get sweaty or short of breath with it?",
             [("Does the tightness spread to your arm, jaw or back?", "Hypotheses testing", ["angina", "myocardial ischemia"], True),
              ("Do you get sweaty or short of breath with it?", "Followup", ["angina"], True)],
             "Sometimes it goes into my left shoulder. I get a bit out of breath but I thought that was the stairs."),
            ("Has it ever happened while you were resting or woken you up at night?",
             [("Has it ever happened while you were resting or woken you up at night?", "Hypotheses testing", ["unstable angina"], True)],
             "No, only when I'm walking up hills or stairs."),
        ],
    },
    {
        "post_id": "d0a1x2", "author": "mamabear_77", "year": 2020,
        "title": "Toddler (2F) fever for 5 days, red eyes and cracked lips",
        "post": "My daughter is 2. She has had a fever between 38.9 and 40 for five days now that only comes down a "
                "little with paracetamol. Yesterday her eyes got really red (no gunk) and her lips are dry and cracked. "
                "The GP said viral infection on day 2. She is miserable and won't walk. Should I go back?",
        "diagnosis": "Kawasaki disease", "flair": "Physician - Paediatrics",
        "conclusion": "Five days of fever with red eyes and lip changes in a toddler needs same-day assessment for "
                      "Kawasaki disease; go to the children's emergency department today.",
        "turns": [
            ("Has she had a rash anywhere, or swelling or peeling of her hands and feet?",
             [("Has she had a rash anywhere?", "Checklist", ["Kawasaki disease", "scarlet fever"], True),
              ("Are her hands or feet swollen or peeling?", "Hypotheses testing", ["Kawasaki disease"], True)],
             "There was a blotchy rash on her tummy yesterday, and her feet look puffy now that you mention it."),
            ("Is there a lump on one side of her neck?",
             [("Is there a lump on one side of her neck?", "Hypotheses testing", ["cervical lymphadenopathy", "Kawasaki disease"], True)],
             "Yes, a lump under her jaw on the right side, about the size of a grape."),
        ],
    },
    {
        "post_id": "d0a1x3", "author": "runner_jules", "year": 2019,
        "title": "Calf pain and swelling after long flight (29F, on the pill)",
        "post": "29F, on the combined pill. I flew back from Singapore four days ago (13 hours). Since yesterday my "
                "left calf is sore and feels tight, and my left ankle looks a bit bigger than the right. I run a lot "
                "so I thought it was a strain but I didn't run since the flight.",
        "diagnosis": "Deep vein thrombosis", "flair": "Nurse Practitioner",
        "conclusion": "A swollen painful calf after a long-haul flight while on the combined pill needs an urgent "
                      "scan to rule out a DVT; seek care today, and emergency care for any breathlessness or chest pain.",
        "turns": [
            ("Is the calf warm or red compared to the other leg, and does it hurt more when you flex your foot up?",
             [("Is the calf warm or red compared to the other leg?", "Hypotheses testing", ["deep vein thrombosis", "cellulitis"], True),
              ("Does it hurt more when you flex your foot up?", "Clarification", ["deep vein thrombosis"], True)],
             "It's a bit warmer, not really red. Pulling my foot up makes it ache more."),
            ("Have you had any shortness of breath, chest pain or coughing up blood?",
             [("Have you had any shortness of breath, chest pain or coughing up blood?", "Checklist", ["pulmonary embolism"], True)],
             "No breathing problems, no chest pain."),
        ],
    },
    {
        "post_id": "d0a1x4", "author": "tired_teacher", "year": 2022,
        "title": "Always exhausted, cold and gaining weight (34F)",
        "post": "34F. Over the past 6 months I've been exhausted no matter how much I sleep, I feel cold when "
                "everyone else is fine, my skin is dry and I've put on 6 kg without eating differently. My periods "
                "have got heavier too. I put it down to stress at work but my sister says I should get checked.",
        "diagnosis": "Hypothyroidism", "flair": "Physician",
        "conclusion": "Fatigue, cold intolerance, dry skin, weight gain and heavier periods fit an underactive "
                      "thyroid; ask your GP for thyroid function tests and a full blood count.",
        "turns": [
            ("Have you noticed constipation, hair thinning, or a hoarse voice?",
             [("Have you noticed constipation?", "Checklist", ["hypothyroidism"], True),
              ("Has your hair got thinner or your voice hoarser?", "Checklist", ["hypothyroidism"], True)],
             "Yes constipation for months, and my hair comes out in the shower a lot more."),
            ("Does anyone in your family have thyroid problems or type 1 diabetes?",
             [("Does anyone in your family have thyroid problems or type 1 diabetes?", "Followup", ["autoimmune thyroiditis"], True)],
             "My mum takes levothyroxine."),
        ],
    },
    {
        "post_id": "d0a1x5", "author": "throwaway_abd_pain", "year": 2018,
        "title": "Pain moved from belly button to lower right side (19M)",
        "post": "19M. Started yesterday evening as a dull ache around my belly button, felt sick and didn't want "
                "dinner. This morning it's a sharp pain in my lower right side, worse when I walk or cough. "
                "Temperature 37.9. Is this just gas?",
        "diagnosis": "Acute appendicitis", "flair": "Surgeon",
        "conclusion": "Pain migrating to the right lower abdomen with nausea, loss of appetite and fever suggests "
                      "appendicitis; go to the emergency department now and don't eat or drink until seen.",
        "turns": [
            ("Does it hurt more when you press on the lower right side and then let go quickly?",
             [("Does it hurt more when you press on the lower right side and then let go quickly?", "Hypotheses testing", ["appendicitis", "peritonitis"], True)],
             "Yes, letting go is worse than pressing."),
            ("Have you had diarrhoea, burning when you pee, or pain in your testicles?",
             [("Have you had diarrhoea?", "Checklist", ["gastroenteritis"], True),
              ("Any burning when you pee or pain in your testicles?", "Checklist", ["urinary tract infection", "testicular torsion"], True)],
             None),
        ],
    },
    {
        "post_id": "d0a1x6", "author": "itchy_and_annoyed", "year": 2021,
        "title": "Itchy rash between fingers, worse at night, whole family now",
        "post": "Three weeks ago I got an itchy rash between my fingers and on my wrists. It's way worse at night. "
                "Now my husband and my son (8) are scratching too. Tried hydrocortisone cream, no change. We did "
                "have my nephew staying with us last month.",
        "diagnosis": "Scabies", "flair": "Dermatologist",
        "conclusion": "An itchy rash in the finger webs that is worse at night and spreads within a household is "
                      "typical of scabies; everyone in the home needs treatment with permethrin at the same time.",
        "turns": [
            ("Can you see tiny grey or silvery lines in the skin between your fingers?",
             [("Can you see tiny grey or silvery lines in the skin between your fingers?", "Hypotheses testing", ["scabies"], True)],
             "Yes, little wiggly lines, a few millimetres long."),
        ],
    },
    {
        "post_id": "d0a1x7", "author": "dizzy_dave", "year": 2017,
        "title": "Room spins when I roll over in bed (61M)",
        "post": "61M. For the last week whenever I roll onto my right side in bed or look up to a high shelf, the "
                "room spins for about 20-30 seconds and I feel sick. Fine the rest of the time. No hearing loss. "
                "I'm worried it's a stroke.",
        "diagnosis": "Benign paroxysmal positional vertigo", "flair": "Physician - ENT",
        "conclusion": "Brief spinning set off by head position, with no other symptoms, is typical of BPPV; a "
                      "repositioning manoeuvre usually fixes it. Seek urgent care for weakness, speech or vision changes.",
        "turns": [
            ("Have you had any double vision, slurred speech, numbness, or trouble walking straight?",
             [("Have you had any double vision, slurred speech, numbness, or trouble walking straight?", "Checklist", ["stroke", "posterior circulation TIA"], True)],
             "None of those."),
            ("Does the spinning stop on its own within a minute if you keep still?",
             [("Does the spinning stop on its own within a minute if you keep still?", "Clarification", ["BPPV", "vestibular neuritis"], True)],
             "Yes, if I keep still it stops in well under a minute."),
        ],
    },
    {
        "post_id": "d0a1x8", "author": "worried_student_22", "year": 2022,
        "title": "Burning when peeing and going every 20 minutes (22F)",
        "post": "22F. Since this morning I've had burning when I pee and I feel like I need to go constantly but "
                "only a little comes out. Urine looks cloudy. No fever. Had this once before 2 years ago.",
        "diagnosis": "Uncomplicated cystitis", "flair": "Pharmacist",
        "conclusion": "Burning, frequency and cloudy urine without fever or back pain fits a simple bladder "
                      "infection; a pharmacist or GP can treat it. Fever, back pain or vomiting need prompt review.",
        "turns": [
            ("Do you have any pain in your back or sides, fever, or vomiting?",
             [("Do you have any pain in your back or sides, fever, or vomiting?", "Hypotheses testing", ["pyelonephritis"], True)],
             "No back pain, no fever."),
            ("Is there any chance you could be pregnant, or any unusual vaginal discharge?",
             [("Is there any chance you could be pregnant?", "Checklist", ["pregnancy"], True),
              ("Have you noticed any unusual vaginal discharge?", "Hypotheses testing", ["sexually transmitted infection", "vaginitis"], True)],
             "Not pregnant (period last week) and no discharge."),
        ],
    },
    {
        "post_id": "d0a1x9", "author": "gardenerjoe", "year": 2016,
        "title": "Big toe suddenly red, hot and agonizing overnight (48M)",
        "post": "48M. Woke at 3am with my right big toe joint on fire. It's red, swollen and I can't even have the "
                "bedsheet touch it. Had a big weekend (barbecue, quite a few beers). On a water pill for blood pressure.",
        "diagnosis": "Acute gout", "flair": "Physician",
        "conclusion": "Sudden severe pain, redness and swelling of the big toe joint after alcohol, in a man on a "
                      "diuretic, is classic gout; see a doctor for anti-inflammatory treatment and a urate level later.",
        "turns": [
            ("Do you have a fever or feel generally unwell, and is there any cut or wound near the toe?",
             [("Do you have a fever or feel generally unwell?", "Hypotheses testing", ["septic arthritis"], True),
              ("Is there any cut or wound near the toe?", "Hypotheses testing", ["cellulitis"], True)],
             "No fever, no cuts. Just the toe."),
        ],
    },
    {
        "post_id": "d0a1y1", "author": "headache_help", "year": 2020,
        "title": "Worst headache of my life, came on in seconds (41F)",
        "post": "41F. About an hour ago, while lifting a box, I got a sudden explosive headache at the back of my "
                "head, the worst I've ever had. I threw up once. My neck feels stiff. I normally only get mild "
                "tension headaches. Should I just take ibuprofen and lie down?",
        "diagnosis": "Subarachnoid haemorrhage", "flair": "Physician - Emergency Medicine",
        "conclusion": "A thunderclap headache reaching maximum intensity within seconds is an emergency until "
                      "proven otherwise; call an ambulance now and don't take anything or drive yourself.",
        "turns": [
            ("Did the pain reach its worst within a minute of starting?",
             [("Did the pain reach its worst within a minute of starting?", "Hypotheses testing", ["subarachnoid haemorrhage", "thunderclap headache"], True)],
             "Yes, it was instant, like being hit."),
            ("Any confusion, weakness, trouble speaking, or does light hurt your eyes?",
             [("Any confusion, weakness or trouble speaking?", "Checklist", ["stroke", "subarachnoid haemorrhage"], True),
              ("Does light hurt your eyes?", "Checklist", ["meningism"], True)],
             "Light is really bothering me. No weakness."),
        ],
    },
    {
        "post_id": "d0a1y2", "author": "newdad_sam", "year": 2019,
        "title": "3-week-old vomiting after every feed, projectile",
        "post": "Our son is 3 weeks old. For the past 4 days he throws up after almost every feed, and it shoots "
                "across the room. He seems hungry again straight after. Fewer wet nappies today. Formula fed. "
                "Our health visitor said reflux but this seems different.",
        "diagnosis": "Pyloric stenosis", "flair": "Physician - Paediatrics",
        "conclusion": "Forceful vomiting after every feed in a hungry 3-week-old with fewer wet nappies suggests "
                      "pyloric stenosis and dehydration; he needs to be seen in hospital today.",
        "turns": [
            ("Is the vomit ever green or yellow, or does it look like milk?",
             [("Is the vomit ever green or yellow, or does it look like milk?", "Hypotheses testing", ["malrotation", "pyloric stenosis"], False)],
             "Just milk, sometimes curdled. Never green."),
            ("How many wet nappies has he had in the last 24 hours?",
             [("How many wet nappies has he had in the last 24 hours?", "Followup", ["dehydration"], False)],
             "Maybe three, usually it's six or more."),
        ],
    },
    {
        "post_id": "d0a1y3", "author": "shaky_hands_88", "year": 2021,
        "title": "Heart racing, shaky, lost weight without trying (27F)",
        "post": "27F. For two months my heart often races even when I'm sitting, my hands shake, I sweat a lot and "
                "I've lost 5 kg while eating more than usual. I'm also anxious and can't sleep. Is it just anxiety?",
        "diagnosis": "Graves' disease", "flair": "Physician - Endocrinology",
        "conclusion": "Palpitations, tremor, sweating and weight loss despite a good appetite point to an overactive "
                      "thyroid; get thyroid function tests soon, and seek care for chest pain or a very fast pulse.",
        "turns": [
            ("Have you noticed a swelling at the front of your neck, or any change in your eyes such as bulging or grittiness?",
             [("Have you noticed a swelling at the front of your neck?", "Checklist", ["goitre"], True),
              ("Any bulging or gritty eyes?", "Hypotheses testing", ["Graves' disease"], True)],
             "My eyes have felt gritty and my friend said I look 'startled' in photos lately."),
            ("Are you taking any supplements, weight-loss products or new medicines?",
             [("Are you taking any supplements, weight-loss products or new medicines?", "Followup", ["exogenous thyroid hormone", "stimulant use"], True)],
             "Only a multivitamin."),
        ],
    },
    {
        "post_id": "d0a1y4", "author": "cough_that_wont_quit", "year": 2015,
        "title": "Cough for 7 weeks, night sweats (35M)",
        "post": "35M. Cough for about seven weeks, sometimes with a bit of blood-streaked phlegm. I've been "
                "soaking my sheets at night and lost some weight. I moved here from abroad last year and work in a "
                "homeless shelter. Antibiotics from urgent care didn't help.",
        "diagnosis": "Pulmonary tuberculosis", "flair": "Physician - Infectious Disease",
        "conclusion": "A cough over three weeks with haemoptysis, night sweats and weight loss in someone with "
                      "exposure risks needs a chest X-ray and sputum tests for tuberculosis; see a doctor promptly.",
        "turns": [
            ("Have you been in contact with anyone known to have tuberculosis, and were you ever vaccinated against it?",
             [("Have you been in contact with anyone known to have tuberculosis?", "Hypotheses testing", ["tuberculosis"], True),
              ("Were you ever vaccinated against tuberculosis (BCG)?", "Followup", ["tuberculosis"], True)],
             "A guy at the shelter was taken to hospital for TB a few months ago. I think I had BCG as a child."),
        ],
    },
    {
        "post_id": "d0a1y5", "author": "numb_fingers_nina", "year": 2022,
        "title": "Tingling in thumb and first fingers, wakes me at night",
        "post": "38F, I work at a keyboard all day and I'm 30 weeks pregnant. My right thumb, index and middle "
                "fingers tingle and go numb, especially at night; shaking my hand helps. Dropped a cup yesterday.",
        "diagnosis": "Carpal tunnel syndrome", "flair": "Physiotherapist",
        "conclusion": "Night-time tingling in the thumb and first two fingers relieved by shaking the hand, in "
                      "pregnancy, is typical of carpal tunnel syndrome; a wrist splint at night often helps.",
        "turns": [
            ("Does your little finger tingle too, or is it spared?",
             [("Does your little finger tingle too, or is it spared?", "Clarification", ["ulnar neuropathy", "carpal tunnel syndrome"], False)],
             "The little finger is fine."),
            ("Any neck pain or tingling that goes up your arm?",
             [("Any neck pain or tingling that goes up your arm?", "Hypotheses testing", ["cervical radiculopathy"], True)],
             None),
        ],
    },
]

# A four-option question per thread for the interactive QA task: (stem, options A-D, answer letter).
DEMO_MCQS = {
    "d0a1x1": ("What is the most likely cause of this man's exertional chest tightness?",
               ["Gastro-oesophageal reflux", "Stable angina", "Costochondritis", "Panic attacks"], "B"),
    "d0a1x2": ("Which diagnosis best explains the child's prolonged fever with conjunctival injection and lip changes?",
               ["Viral upper respiratory infection", "Measles", "Kawasaki disease", "Scarlet fever"], "C"),
    "d0a1x3": ("What is the most likely cause of the swollen painful calf?",
               ["Muscle strain", "Deep vein thrombosis", "Ruptured Baker's cyst", "Cellulitis"], "B"),
    "d0a1x4": ("Which condition best explains her symptoms?",
               ["Depression", "Iron deficiency anaemia", "Hypothyroidism", "Chronic fatigue syndrome"], "C"),
    "d0a1x5": ("What is the most likely diagnosis?", ["Trapped wind", "Acute appendicitis", "Kidney stone", "Gastroenteritis"], "B"),
    "d0a1x6": ("What is the most likely cause of the family's itchy rash?", ["Eczema", "Contact dermatitis", "Scabies", "Urticaria"], "C"),
    "d0a1x7": ("What is the most likely cause of his vertigo?",
               ["Benign paroxysmal positional vertigo", "Stroke", "Meniere's disease", "Vestibular migraine"], "A"),
    "d0a1x8": ("What is the most likely diagnosis?", ["Pyelonephritis", "Uncomplicated cystitis", "Chlamydia", "Kidney stone"], "B"),
    "d0a1x9": ("What is the most likely diagnosis?", ["Septic arthritis", "Acute gout", "Bunion", "Cellulitis"], "B"),
    "d0a1y1": ("What must be ruled out first?", ["Tension headache", "Migraine", "Subarachnoid haemorrhage", "Sinusitis"], "C"),
    "d0a1y2": ("What is the most likely cause of the infant's vomiting?",
               ["Gastro-oesophageal reflux", "Cow's milk protein allergy", "Pyloric stenosis", "Overfeeding"], "C"),
    "d0a1y3": ("Which diagnosis best explains her symptoms?", ["Generalised anxiety disorder", "Graves' disease", "Phaeochromocytoma", "Anorexia nervosa"], "B"),
    "d0a1y4": ("What is the most likely diagnosis?", ["Pulmonary tuberculosis", "Post-viral cough", "Asthma", "Lung cancer"], "A"),
    "d0a1y5": ("What is the most likely cause of her hand symptoms?",
               ["Cervical radiculopathy", "Ulnar nerve entrapment", "Carpal tunnel syndrome", "Raynaud's phenomenon"], "C"),
}

# A demo pairwise campaign: each thread's first real question against a hand-written worse version of it,
# degraded along one attribute. Sides are randomised per annotator by the campaign, so order here is irrelevant.
DEMO_DEGRADED = {
    "d0a1x1": ("focus", "Can you tell me everything about your health, lifestyle and family history?"),
    "d0a1x2": ("clarity", "Any skin or extremity stuff going on, or whatever, recently-ish?"),
    "d0a1x3": ("avoidbias", "This is obviously just a running strain, isn't it?"),
    "d0a1x4": ("answerability", "What is your free T4 and TPO antibody titre?"),
    "d0a1x5": ("relevance", "What colour is your bedroom?"),
    "d0a1x6": ("accuracy", "Did the rash start after you ate shellfish, since food allergies cause burrows?"),
    "d0a1x7": ("avoidbias", "You're worried about a stroke, so have you had a stroke before?"),
    "d0a1x8": ("focus", "How is your general health, diet, sleep, stress, and sexual history?"),
    "d0a1x9": ("clarity", "Is the thing on the foot doing the thing it did, or different?"),
    "d0a1y1": ("relevance", "Do you usually drink coffee in the morning?"),
}
